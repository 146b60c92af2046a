/**
 * A small example parent type (`Widget`, example.com/v1) and CompositeController, to exercise the simulator on
 * its own, without the DittoFS hook. Scenario tests of the real hook load the project's CRD and
 * CompositeController from manifests/ instead.
 */

import type { CompositeController, KubeObject, UpdateMethod } from './types.js'

export const WIDGET_API_VERSION = 'example.com/v1'

export function widgetCrd(): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                status: {
                  type: 'object',
                  properties: {
                    observedGeneration: { type: 'integer' },
                    phase: { type: 'string' },
                    readyReplicas: { type: 'integer' },
                    message: { type: 'string' },
                    conditions: {
                      type: 'array',
                      items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                    },
                  },
                },
              },
            },
          },
        },
      ],
    },
  }
}

export interface WidgetControllerOptions {
  name?: string
  version?: 'v1' | 'v2'
  finalize?: boolean
  customize?: boolean
  generateSelector?: boolean
  resyncPeriodSeconds?: number
  ignoreStatusChanges?: boolean
  /** Update strategy per child plural (configmaps, secrets, services, statefulsets). Default InPlace. */
  strategies?: Partial<Record<'configmaps' | 'secrets' | 'services' | 'statefulsets', UpdateMethod>>
}

export function widgetController(options: WidgetControllerOptions = {}): CompositeController {
  const hook = (path: string) => ({
    ...(options.version ? { version: options.version } : {}),
    webhook: { url: `http://widget-hooks.widgets-system${path}`, timeout: '10s' },
  })
  const child = (apiVersion: string, resource: 'configmaps' | 'secrets' | 'services' | 'statefulsets') => ({
    apiVersion,
    resource,
    updateStrategy: { method: options.strategies?.[resource] ?? 'InPlace' },
  })
  return {
    apiVersion: 'metacontroller.k8s.io/v1alpha1',
    kind: 'CompositeController',
    metadata: { name: options.name ?? 'widget-controller' },
    spec: {
      generateSelector: options.generateSelector ?? true,
      parentResource: {
        apiVersion: WIDGET_API_VERSION,
        resource: 'widgets',
        ...(options.ignoreStatusChanges ? { ignoreStatusChanges: true } : {}),
      },
      childResources: [
        child('v1', 'configmaps'),
        child('v1', 'secrets'),
        child('v1', 'services'),
        child('apps/v1', 'statefulsets'),
      ],
      hooks: {
        sync: hook('/sync'),
        ...(options.finalize ? { finalize: hook('/finalize') } : {}),
        ...(options.customize ? { customize: hook('/customize') } : {}),
      },
      ...(options.resyncPeriodSeconds ? { resyncPeriodSeconds: options.resyncPeriodSeconds } : {}),
    },
  }
}

export function widget(name: string, namespace = 'default', spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: WIDGET_API_VERSION, kind: 'Widget', metadata: { name, namespace }, spec }
}
