import { StepTimer, type DebugLogger } from './step-timer';

function fakeLogger(debugOn: boolean) {
  const lines: { fields: Record<string, unknown>; message: string }[] = [];
  const logger: DebugLogger = {
    isLevelEnabled: () => debugOn,
    debug: (fields, message) => lines.push({ fields, message }),
  };
  return { logger, lines };
}

const busyWait = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('StepTimer', () => {
  it("logs each step's duration, the total and the context at debug", () => {
    const { logger, lines } = fakeLogger(true);
    const timer = StepTimer.start(logger, { emailId: 'e1' });
    busyWait(5);
    timer.lap('claim');
    busyWait(10);
    timer.lap('send');
    timer.done('delivery timing', { outcome: 'sent' });

    expect(lines).toHaveLength(1);
    const { fields, message } = lines[0]!;
    expect(message).toBe('delivery timing');
    expect(fields).toMatchObject({ emailId: 'e1', outcome: 'sent' });
    const steps = fields.steps as Record<string, number>;
    expect(Object.keys(steps)).toEqual(['claim', 'send']);
    expect(steps.claim).toBeGreaterThanOrEqual(5);
    expect(steps.send).toBeGreaterThanOrEqual(10);
    expect(steps.send).toBeLessThan(1000);
    expect(fields.totalMs).toBeGreaterThanOrEqual(steps.claim! + steps.send! - 0.02);
  });

  it('adds up a step that is lapped twice', () => {
    const { logger, lines } = fakeLogger(true);
    const timer = StepTimer.start(logger);
    busyWait(3);
    timer.lap('redis');
    timer.lap('render');
    busyWait(3);
    timer.lap('redis');
    timer.done('timing');
    expect((lines[0]!.fields.steps as Record<string, number>).redis).toBeGreaterThanOrEqual(6);
  });

  it('does nothing when debug is off for the logger', () => {
    const { logger, lines } = fakeLogger(false);
    const timer = StepTimer.start(logger, { emailId: 'e1' });
    expect(timer).not.toBeInstanceOf(StepTimer);
    timer.lap('claim');
    timer.done('delivery timing');
    expect(lines).toEqual([]);
  });
});
