import type { KubeObject } from '../../hooks/metacontroller/types.js'

// Validates built-in objects against the official OpenAPI schemas bundled in kubernetes-models.

const modelCache = new Map<string, unknown>()

async function modelFor(
  apiVersion: string,
  kind: string,
): Promise<new (data: unknown) => { validate(): void }> {
  const key = `${apiVersion}/${kind}`
  if (!modelCache.has(key)) {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : [undefined, apiVersion]
    const module = group
      ? `kubernetes-models/${group}/${version}/${kind}`
      : `kubernetes-models/${version}/${kind}`
    const loaded = (await import(module)) as Record<string, unknown>
    modelCache.set(key, loaded[kind])
  }
  return modelCache.get(key) as new (
    data: unknown,
  ) => { validate(): void }
}

/** Throws with the schema's message when the object is not a valid Kubernetes object of its kind. */
export async function validateK8s(object: KubeObject): Promise<void> {
  const Model = await modelFor(object.apiVersion, object.kind)
  new Model(object).validate()
}

export async function invalidObjects(objects: KubeObject[]): Promise<string[]> {
  const problems: string[] = []
  for (const object of objects) {
    try {
      await validateK8s(object)
    } catch (error) {
      problems.push(`${object.kind}/${object.metadata.name}: ${(error as Error).message}`)
    }
  }
  return problems
}
