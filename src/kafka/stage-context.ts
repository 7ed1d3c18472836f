import { BaseRpcContext } from '@nestjs/microservices';

type StageContextArgs = [topic: string, partition: number, offset: string, headers: Record<string, string>, attempt: number];

/** Where a message came from and which attempt this is, for handlers that need it (@Ctx()). */
export class StageContext extends BaseRpcContext<StageContextArgs> {
  get topic(): string {
    return this.args[0];
  }

  get partition(): number {
    return this.args[1];
  }

  get offset(): string {
    return this.args[2];
  }

  get headers(): Record<string, string> {
    return this.args[3];
  }

  get attempt(): number {
    return this.args[4];
  }
}

/** A failure that no retry can fix (a malformed event): it goes to the dead-letter topic at once. */
export class PermanentEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentEventError';
  }
}
