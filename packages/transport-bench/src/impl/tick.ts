import { Event } from "@eventfabric/core"
import { Schema } from "effect"

export const Tick = Event.define("bench.tick", { payload: Schema.Struct({ n: Schema.Number, sent: Schema.Number }) })
export const definitions = [Tick]
