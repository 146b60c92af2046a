/**
 * Wiring for tests of the simulator itself: a scripted hook server, a cluster knowing the example Widget type,
 * and a Metacontroller for the example CompositeController. Everything is closed through `teardown`.
 */

import { VirtualClock } from './clock.js'
import { Cluster } from './cluster.js'
import { type WidgetControllerOptions, widgetController, widgetCrd } from './examples.js'
import { Metacontroller } from './metacontroller.js'
import { type ScriptedHandler, type ScriptedHook, startScriptedHook } from './scripted-hook.js'

export interface Simulation {
  hook: ScriptedHook
  clock: VirtualClock
  cluster: Cluster
  mc: Metacontroller
}

export interface SimulationOptions {
  handler: ScriptedHandler
  controller?: WidgetControllerOptions
  fetchTimeoutMs?: number
}

/** Anything with tap's `teardown`. */
export interface Teardown {
  teardown(fn: () => unknown): void
}

export async function startWidgetSimulation(t: Teardown, options: SimulationOptions): Promise<Simulation> {
  const hook = await startScriptedHook(options.handler)
  t.teardown(() => hook.close())
  const clock = new VirtualClock()
  const cluster = new Cluster({ clock })
  cluster.registerCrd(widgetCrd())
  const mc = new Metacontroller({
    baseUrl: hook.baseUrl,
    controller: widgetController(options.controller),
    cluster,
    ...(options.fetchTimeoutMs === undefined ? {} : { fetchTimeoutMs: options.fetchTimeoutMs }),
  })
  t.teardown(() => mc.stop())
  return { hook, clock, cluster, mc }
}
