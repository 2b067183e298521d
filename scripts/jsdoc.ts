/**
 * Reads the JSDoc of a package's public modules with the TypeScript compiler:
 * each module's own comment, and each exported declaration (and a class's
 * static members) with its text, `@example` code blocks, `@category` and
 * `@since`. The example check and the API docs both start here.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"
import ts from "typescript"
import { root, type WorkspacePackage } from "./workspace.ts"

export interface Example {
  /** The code inside the fence. */
  readonly code: string
  /** 1-based line in the source file where the code starts. */
  readonly line: number
}

export interface Doc {
  readonly name: string
  readonly kind: string
  readonly text: string
  readonly since: string | undefined
  readonly category: string | undefined
  readonly examples: ReadonlyArray<Example>
  readonly signature: string
}

export interface ModuleDoc {
  readonly file: string
  /** Module name as imported from the package index (`EventBus`), or the file's base name. */
  readonly name: string
  readonly text: string
  readonly docs: ReadonlyArray<Doc>
}

/** Every `.ts` file under `src`, internal ones included. */
export const sourceFiles = (pkg: WorkspacePackage): ReadonlyArray<string> => {
  const walk = (dir: string): Array<string> =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
    )
  return walk(join(pkg.path, "src")).sort()
}

const tagText = (tag: ts.JSDocTag): string =>
  typeof tag.comment === "string" ? tag.comment : (tag.comment ?? []).map((c) => c.text).join("")

/** The ```ts fences of one `@example` tag, with their source lines. */
const examplesOf = (source: ts.SourceFile, tag: ts.JSDocTag): Array<Example> => {
  const raw = source.text.slice(tag.pos, tag.end)
  const startLine = source.getLineAndCharacterOfPosition(tag.pos).line + 1
  const out: Array<Example> = []
  const lines = raw.split("\n").map((l) => l.replace(/^\s*\* ?/, ""))
  let open: { line: number; body: Array<string> } | undefined
  lines.forEach((l, i) => {
    if (open === undefined && /^```(ts|typescript)\b/.test(l.trim())) open = { line: startLine + i + 1, body: [] }
    else if (open !== undefined && l.trim() === "```") {
      out.push({ code: open.body.join("\n"), line: open.line })
      open = undefined
    } else if (open !== undefined) open.body.push(l)
  })
  return out
}

const docOf = (source: ts.SourceFile, node: ts.Node, name: string, kind: string): Doc | undefined => {
  const jsDocs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc)
  const jsDoc = jsDocs.at(-1)
  if (jsDoc === undefined) return undefined
  const text = typeof jsDoc.comment === "string" ? jsDoc.comment : (jsDoc.comment ?? []).map((c) => c.text).join("")
  const tags = jsDoc.tags ?? []
  const find = (t: string) => tags.find((tag) => tag.tagName.text === t)
  const sinceTag = find("since")
  const categoryTag = find("category")
  return {
    name,
    kind,
    text: text.trim(),
    since: sinceTag ? tagText(sinceTag).trim() : undefined,
    category: categoryTag ? tagText(categoryTag).trim() : undefined,
    examples: tags.filter((t) => t.tagName.text === "example").flatMap((t) => examplesOf(source, t)),
    signature: signatureOf(source, node)
  }
}

// The declaration's first line(s), up to the body: enough to read the shape.
const signatureOf = (source: ts.SourceFile, node: ts.Node): string => {
  const text = source.text.slice(node.getStart(source), node.end)
  const cut = text.search(/\s=\s|\{\n|=>\n/)
  const head = (cut > 0 ? text.slice(0, cut) : text.split("\n")[0]!).trim()
  return head.length > 200 ? `${head.slice(0, 200)}…` : head
}

const exported = (node: ts.Node) =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)

export const readModule = (file: string): ModuleDoc => {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true)
  const docs: Array<Doc> = []
  let text = ""
  const first = source.statements[0]
  if (first !== undefined) {
    const leading = ts.getLeadingCommentRanges(source.text, 0) ?? []
    const fileDoc = leading.find((r) => source.text.startsWith("/**", r.pos))
    if (fileDoc !== undefined) {
      const parsed = ts.createSourceFile(
        "x.ts",
        `${source.text.slice(fileDoc.pos, fileDoc.end)}\nconst x = 1`,
        99,
        true
      )
      const d = docOf(parsed, parsed.statements[0]!, "", "module")
      // the file comment also documents the first statement; keep it as the module's text only
      if (d !== undefined) {
        text = d.text
        if (d.examples.length > 0)
          docs.push({
            ...d,
            name: "(module)",
            examples: d.examples.map((e) => ({
              ...e,
              line: e.line + source.getLineAndCharacterOfPosition(fileDoc.pos).line
            }))
          })
      }
    }
  }
  for (const statement of source.statements) {
    if (!exported(statement)) continue
    const push = (name: string, kind: string, node: ts.Node = statement) => {
      const d = docOf(source, node, name, kind)
      if (d !== undefined) docs.push(d)
    }
    if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) push(d.name.getText(source), "const")
    } else if (ts.isClassDeclaration(statement) && statement.name) {
      push(statement.name.text, "class")
      for (const member of statement.members) {
        const modifiers = ts.canHaveModifiers(member) ? (ts.getModifiers(member) ?? []) : []
        const isStatic = modifiers.some((m) => m.kind === ts.SyntaxKind.StaticKeyword)
        if (isStatic && member.name) push(`${statement.name.text}.${member.name.getText(source)}`, "static", member)
      }
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement)) &&
      statement.name
    ) {
      const kind = ts.isFunctionDeclaration(statement)
        ? "function"
        : ts.isInterfaceDeclaration(statement)
          ? "interface"
          : ts.isTypeAliasDeclaration(statement)
            ? "type"
            : "enum"
      push(statement.name.text, kind)
    } else if (ts.isModuleDeclaration(statement)) {
      push(statement.name.getText(source), "namespace")
    }
  }
  const base = relative(root, file)
  return { file: base, name: file.split("/").at(-1)!.replace(/\.ts$/, ""), text, docs }
}
