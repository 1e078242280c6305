import 'reflect-metadata';
import {
  Controller,
  type DynamicModule,
  type INestApplicationContext,
  Injectable,
  Module,
  type OnModuleInit,
  Optional,
  Scope,
} from '@nestjs/common';
import { NestFactory, Reflector } from '@nestjs/core';
import { BorrowingError, withBorrowedProviders } from './borrowed-providers';

@Injectable()
class Counter {
  value = 0;
}

/** Like AppLogger: each consumer gets its own. */
@Injectable({ scope: Scope.TRANSIENT })
class Named {}

@Injectable()
class Worker implements OnModuleInit {
  started = 0;
  onModuleInit(): void {
    this.started++;
  }
}

@Module({
  providers: [Counter, Named, Worker],
  exports: [Counter, Named, Worker],
})
class OwnerModule {}

@Controller()
class CountingController {
  constructor(
    readonly counter: Counter,
    readonly named: Named,
    readonly reflector: Reflector,
    @Optional() readonly missing?: Date,
  ) {}
}

@Injectable()
class PortGuard {
  constructor(
    readonly counter: Counter,
    readonly named: Named,
  ) {}
}

@Controller()
class StartingController {
  constructor(readonly worker: Worker) {}
}

@Module({})
class PortModule {}

const quiet = { logger: false as const, abortOnError: false };
const port = (parts: Partial<DynamicModule>): DynamicModule => ({ module: PortModule, ...parts });

describe('withBorrowedProviders', () => {
  let owner: INestApplicationContext;
  const borrowers: INestApplicationContext[] = [];

  const borrow = async (module: DynamicModule) => {
    const app = await NestFactory.createApplicationContext(withBorrowedProviders(module, owner), quiet);
    borrowers.push(app);
    return app;
  };

  beforeAll(async () => {
    owner = await NestFactory.createApplicationContext(OwnerModule, quiet);
  });

  afterAll(async () => {
    await Promise.all(borrowers.map((app) => app.close()));
    await owner.close();
  });

  it("gives the port's controllers and providers the owner's instances, not copies", async () => {
    const app = await borrow(port({ controllers: [CountingController], providers: [PortGuard] }));
    const controller = app.get(CountingController);
    expect(controller.counter).toBe(owner.get(Counter));
    expect(app.get(PortGuard).counter).toBe(owner.get(Counter));
    owner.get(Counter).value = 7;
    expect(controller.counter.value).toBe(7);
  });

  it('makes each consumer of a transient class an instance of its own, through the owner', async () => {
    const app = await borrow(port({ controllers: [CountingController], providers: [PortGuard] }));
    const [a, b] = [app.get(CountingController).named, app.get(PortGuard).named];
    expect(a).toBeInstanceOf(Named);
    expect(b).toBeInstanceOf(Named);
    expect(a).not.toBe(b);
  });

  it('leaves the port its own Reflector and an optional dependency the owner lacks unset', async () => {
    const app = await borrow(port({ controllers: [CountingController] }));
    const controller = app.get(CountingController);
    expect(controller.reflector).toBeInstanceOf(Reflector);
    expect(controller.reflector).not.toBe(owner.get(Reflector));
    expect(controller.missing).toBeUndefined();
  });

  it('borrows only what the port injects', () => {
    const module = withBorrowedProviders(port({ controllers: [CountingController] }), owner);
    const borrowed = (module.imports![0] as DynamicModule).exports;
    expect(borrowed).toEqual([Counter, Named]);
  });

  it('refuses an instance with a lifecycle hook, which would run a second time', () => {
    expect(() => withBorrowedProviders(port({ controllers: [StartingController] }), owner)).toThrow(
      new BorrowingError(
        'Worker has the lifecycle hook onModuleInit: a port cannot borrow it (inject a service without hooks)',
      ),
    );
    expect(owner.get(Worker).started).toBe(1);
  });

  it('refuses a port that imports modules, whose providers would be a second set', () => {
    expect(() => withBorrowedProviders(port({ imports: [OwnerModule] }), owner)).toThrow(BorrowingError);
  });

  it('fails at once on a dependency the owner does not have', () => {
    @Controller()
    class Lost {
      constructor(readonly clock: Date) {}
    }
    expect(() => withBorrowedProviders(port({ controllers: [Lost] }), owner)).toThrow();
  });
});
