import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';

/*
 * Each object checked against its kind's schema, as the API server would: required fields, types, formats
 * (quantities, int-or-string ports), enums. The schemas are Kubernetes' own OpenAPI documents (and KEDA's CRD),
 * compiled by kubernetes-models; like kubeconform without -strict, they let unknown fields through.
 */

interface Model {
  apiVersion: string;
  kind: string;
  new (data: never): { validate(): void };
}

/** The kinds the manifests use; an object of another kind is a problem until its model is added here. */
const MODELS: readonly Model[] = [
  Namespace,
  ConfigMap,
  Secret,
  Service,
  Deployment,
  StatefulSet,
  PodDisruptionBudget,
  HorizontalPodAutoscaler,
  NetworkPolicy,
  ScaledObject,
];
const MODEL_OF = new Map(MODELS.map((model) => [`${model.apiVersion} ${model.kind}`, model]));

interface SchemaError {
  instancePath: string;
  message?: string;
}

/** `/spec/template/spec/containers/0/name` as `spec.template.spec.containers[0].name`. */
function fieldOf(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

/** What the object's schema finds wrong with it, one line per field; none when it is valid. */
export function schemaProblems(object: {
  file: string;
  apiVersion: string;
  kind: string;
  name: string;
  doc: unknown;
}): string[] {
  const where = `${object.file}: ${object.kind} ${object.name}`;
  const Model = MODEL_OF.get(`${object.apiVersion} ${object.kind}`);
  if (!Model)
    return [`${where}: no schema for ${object.apiVersion} ${object.kind} (test/deploy/k8s-schemas.ts)`];
  try {
    new Model(object.doc as never).validate();
    return [];
  } catch (error) {
    const errors = (error as { errors?: SchemaError[] }).errors;
    if (!errors) throw error;
    const byField = new Map<string, string[]>();
    for (const { instancePath, message } of errors) {
      const field = fieldOf(instancePath) || '(the object)';
      const messages = byField.get(field) ?? [];
      if (message && !messages.includes(message)) messages.push(message);
      byField.set(field, messages);
    }
    return [...byField].map(([field, messages]) => `${where}: ${field} ${messages.join(', ')}`);
  }
}
