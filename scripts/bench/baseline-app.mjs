// The raw baseline: the least a NestJS 12 + fastify app can do to accept an email. It validates a small DTO
// with class-validator (Nest's ValidationPipe, as the product uses it) and makes ONE `queue.add()` to a Bull
// queue; a batch (`{ emails: [...] }`, a nested DTO array as a Nest app would declare it) is validated the same
// way and queued with ONE `queue.addBulk()`. No auth, no logging, no record of its own. Plain JS: Nest's
// decorators are applied by hand below, exactly as TypeScript's compiled output applies them.
//   PORT=3999 REDIS_URL=redis://127.0.0.1:6379 node scripts/bench/baseline-app.mjs
import 'reflect-metadata';
import { Body, Controller, Get, HttpCode, Inject, Module, Post, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import Bull from 'bull';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsEmail,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  MaxLength,
  ValidateNested,
} from 'class-validator';

/** `@A() @B() name` on a class property. */
const decorateProperty = (target, name, ...decorators) =>
  Reflect.decorate(decorators, target.prototype, name);

/** `@A() @B() name(param: ParamType…)` on a method, with the parameter types TypeScript would emit. */
function decorateMethod(target, name, paramTypes, ...decorators) {
  const descriptor = Object.getOwnPropertyDescriptor(target.prototype, name);
  decorators.push(Reflect.metadata('design:paramtypes', paramTypes));
  Object.defineProperty(
    target.prototype,
    name,
    Reflect.decorate(decorators, target.prototype, name, descriptor),
  );
}

class SendEmailDto {}
decorateProperty(
  SendEmailDto,
  'to',
  IsArray(),
  ArrayMinSize(1),
  ArrayMaxSize(50),
  IsEmail({}, { each: true }),
);
decorateProperty(SendEmailDto, 'subject', IsString(), IsNotEmpty(), MaxLength(998));
decorateProperty(SendEmailDto, 'text', IsOptional(), IsString());
decorateProperty(SendEmailDto, 'html', IsOptional(), IsString());
decorateProperty(SendEmailDto, 'priority', IsOptional(), IsIn(['high', 'medium', 'low']));

/** The product's batch limit (500), so both apps refuse the same bodies. */
class SendBatchDto {}
decorateProperty(
  SendBatchDto,
  'emails',
  IsArray(),
  ArrayMinSize(1),
  ArrayMaxSize(500),
  ValidateNested({ each: true }),
  Type(() => SendEmailDto),
);

const QUEUE = 'QUEUE';

class EmailsController {
  constructor(queue) {
    this.queue = queue;
  }

  async send(dto) {
    const job = await this.queue.add(dto);
    return { id: String(job.id), status: 'queued' };
  }

  async sendBatch(dto) {
    const jobs = await this.queue.addBulk(dto.emails.map((email) => ({ data: email })));
    return { ids: jobs.map((job) => String(job.id)) };
  }

  health() {
    return { status: 'ok' };
  }
}
Controller()(EmailsController);
Inject(QUEUE)(EmailsController, undefined, 0);
decorateMethod(EmailsController, 'send', [SendEmailDto], Post('api/v1/emails'), HttpCode(202));
Body()(EmailsController.prototype, 'send', 0);
decorateMethod(EmailsController, 'sendBatch', [SendBatchDto], Post('api/v1/emails/batch'), HttpCode(202));
Body()(EmailsController.prototype, 'sendBatch', 0);
decorateMethod(EmailsController, 'health', [], Get('health'));

const queue = new Bull('baseline-emails', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  prefix: process.env.QUEUE_PREFIX ?? '{baseline}',
});

class AppModule {}
Module({ controllers: [EmailsController], providers: [{ provide: QUEUE, useValue: queue }] })(AppModule);

const app = await NestFactory.create(AppModule, new FastifyAdapter(), { logger: ['error', 'warn'] });
app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
await app.listen({ port: Number(process.env.PORT ?? 3999), host: '127.0.0.1' });

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    void app
      .close()
      .then(() => queue.close())
      .finally(() => process.exit(0));
  });
}
