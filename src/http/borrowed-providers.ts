import {
  type DynamicModule,
  type INestApplicationContext,
  type InjectionToken,
  Module,
  type Provider,
  Scope,
  type Type,
} from '@nestjs/common';
import {
  OPTIONAL_DEPS_METADATA,
  PARAMTYPES_METADATA,
  SCOPE_OPTIONS_METADATA,
  SELF_DECLARED_DEPS_METADATA,
} from '@nestjs/common/constants';
import { HttpAdapterHost, ModuleRef, Reflector } from '@nestjs/core';

/** Lifecycle hooks are run by the application that owns an instance; a borrower would run them again. */
const LIFECYCLE_HOOKS = [
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
] as const;

/** Tokens every Nest application provides for itself: its own, never borrowed. */
const OWN_TO_EVERY_APPLICATION: ReadonlySet<InjectionToken> = new Set([
  Reflector,
  ModuleRef,
  HttpAdapterHost,
]);

export class BorrowingError extends Error {}

/**
 * The port's module over providers borrowed from `owner`, the application that holds the process's providers
 * (src/http/http-ports.ts): each dependency that the port's controllers and its own providers inject, and that
 * the port does not declare itself, becomes the owner's instance of it. Every port of a process thus works on
 * the same objects: one event bus, one metrics registry, one set of Redis connections.
 *
 * What is borrowed must be a plain service: Nest runs the lifecycle hooks of every instance an application
 * holds, so an instance with hooks (a connection to close, a timer, a worker) is refused rather than started or
 * stopped twice. A borrowing port imports no module either: each would make a second set of its providers.
 */
export function withBorrowedProviders(port: DynamicModule, owner: INestApplicationContext): DynamicModule {
  if (port.imports?.length)
    throw new BorrowingError(
      `${port.module.name} imports modules of its own: it cannot borrow its providers`,
    );
  const providers = port.providers ?? [];
  const declared = new Set<InjectionToken>(providers.map(tokenOf));
  const consumers = [...(port.controllers ?? []), ...providers.flatMap(classOf)];
  const needed = new Map<InjectionToken, boolean>();
  for (const consumer of consumers) {
    for (const { token, isOptional } of dependenciesOf(consumer)) {
      if (declared.has(token) || OWN_TO_EVERY_APPLICATION.has(token)) continue;
      needed.set(token, (needed.get(token) ?? true) && isOptional);
    }
  }
  const borrowed = [...needed].flatMap(([token, isOptional]) => borrow(owner, token, isOptional));
  return {
    ...port,
    imports: [
      {
        module: BorrowedProvidersModule,
        providers: borrowed,
        exports: borrowed.map(tokenOf),
      },
    ],
  };
}

/** Holds a port's borrowed providers. */
@Module({})
class BorrowedProvidersModule {}

function borrow(owner: INestApplicationContext, token: InjectionToken, isOptional: boolean): Provider[] {
  if (isTransient(token)) {
    // A transient class (AppLogger) gives every consumer an instance of its own: the owner makes each.
    return [{ provide: token, scope: Scope.TRANSIENT, useFactory: () => owner.resolve(token) }];
  }
  let instance: unknown;
  try {
    instance = owner.get(token, { strict: false });
  } catch (error) {
    if (isOptional) return [];
    throw error;
  }
  const hook = LIFECYCLE_HOOKS.find(
    (name) => typeof (instance as Record<string, unknown> | null)?.[name] === 'function',
  );
  if (hook) {
    throw new BorrowingError(
      `${nameOf(token)} has the lifecycle hook ${hook}: a port cannot borrow it (inject a service without hooks)`,
    );
  }
  return [{ provide: token, useValue: instance }];
}

/** A class's constructor dependencies as Nest reads them: `@Inject(token)` over the parameter's type. */
function dependenciesOf(type: Type): { token: InjectionToken; isOptional: boolean }[] {
  const types = (Reflect.getMetadata(PARAMTYPES_METADATA, type) ?? []) as InjectionToken[];
  const declared = (Reflect.getMetadata(SELF_DECLARED_DEPS_METADATA, type) ?? []) as {
    index: number;
    param: InjectionToken;
  }[];
  const optional = (Reflect.getMetadata(OPTIONAL_DEPS_METADATA, type) ?? []) as number[];
  return types.map((parameterType, index) => ({
    token: declared.find((d) => d.index === index)?.param ?? parameterType,
    isOptional: optional.includes(index),
  }));
}

function isTransient(token: InjectionToken): boolean {
  if (typeof token !== 'function') return false;
  const options = Reflect.getMetadata(SCOPE_OPTIONS_METADATA, token) as { scope?: Scope } | undefined;
  return options?.scope === Scope.TRANSIENT;
}

function tokenOf(provider: Provider): InjectionToken {
  return typeof provider === 'function' ? provider : provider.provide;
}

/** The classes a provider makes (whose constructors it resolves). */
function classOf(provider: Provider): Type[] {
  if (typeof provider === 'function') return [provider];
  return 'useClass' in provider ? [provider.useClass] : [];
}

function nameOf(token: InjectionToken): string {
  return typeof token === 'function' ? token.name : String(token);
}
