/**
 * Child side of the process boundary (see runner.ts): runs one job of one
 * scenario and prints its result as one marked JSON line. Only the scenario's
 * module is loaded, so a child pays for nothing it does not measure.
 */
import { RESULT_MARK } from "./runner.ts"

const job = JSON.parse(process.argv[2] ?? "{}") as { readonly scenario?: unknown }
if (typeof job.scenario !== "string" || !/^[a-z]+$/.test(job.scenario)) {
  throw new Error(`child: no scenario in ${process.argv[2]}`)
}
const mod = (await import(`./scenarios/${job.scenario}.ts`)) as { measure: (job: unknown) => Promise<unknown> }
const result = await mod.measure(job)
process.stdout.write(`\n${RESULT_MARK}${JSON.stringify(result)}\n`)
process.exit(0)
