import 'reflect-metadata';
import {
  methodLabel,
  OTHER,
  priorityLabel,
  providerLabel,
  routeLabel,
  ServiceLabels,
  UNMATCHED_ROUTE,
} from './label-values';

describe('label values', () => {
  it('keeps known providers, priorities and methods, and folds anything else into "other"', () => {
    expect(providerLabel('sendgrid')).toBe('sendgrid');
    expect(providerLabel('postfix')).toBe(OTHER);
    expect(providerLabel(undefined)).toBe(OTHER);
    expect(priorityLabel('high')).toBe('high');
    expect(priorityLabel('urgent')).toBe(OTHER);
    expect(methodLabel('DELETE')).toBe('DELETE');
    expect(methodLabel('PROPFIND')).toBe(OTHER);
  });

  it('labels a request by its route pattern, and one that matched none as "unmatched"', () => {
    expect(routeLabel('/api/v1/emails/:id')).toBe('/api/v1/emails/:id');
    expect(routeLabel(undefined)).toBe(UNMATCHED_ROUTE);
    expect(routeLabel('')).toBe(UNMATCHED_ROUTE);
  });
});

describe('ServiceLabels', () => {
  it('keeps configured services and anonymous', () => {
    const labels = new ServiceLabels(['billing', 'sign-up'], 0);
    expect(labels.label('billing')).toBe('billing');
    expect(labels.label('sign-up')).toBe('sign-up');
    expect(labels.label('anonymous')).toBe('anonymous');
  });

  it('accepts a bounded number of other well-formed names (a worker without the tokens), then "other"', () => {
    const labels = new ServiceLabels([], 2);
    expect(labels.label('reports')).toBe('reports');
    expect(labels.label('ops')).toBe('ops');
    expect(labels.label('reports')).toBe('reports');
    expect(labels.label('third')).toBe(OTHER);
  });

  it('never turns a malformed name into a label value', () => {
    const labels = new ServiceLabels([]);
    for (const name of ['', 'Billing', 'a"b', 'x'.repeat(80), 'st_live_abc def', undefined])
      expect(labels.label(name)).toBe(OTHER);
  });
});
