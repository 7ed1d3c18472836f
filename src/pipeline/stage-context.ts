import { BaseRpcContext } from '@nestjs/microservices';

type StageContextArgs = [topic: string, stage: string];

/**
 * Which topic a stage batch came from and which stage handles it, for handlers that need it (@Ctx()).
 * A batch can hold several partitions' events; each StageMessage names its own.
 */
export class StageContext extends BaseRpcContext<StageContextArgs> {
  get topic(): string {
    return this.args[0];
  }

  get stage(): string {
    return this.args[1];
  }
}
