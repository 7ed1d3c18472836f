import { BaseRpcContext } from '@nestjs/microservices';

type StageContextArgs = [topic: string, partition: number, stage: string];

/** Which partition a stage batch came from and which stage handles it, for handlers that need it (@Ctx()). */
export class StageContext extends BaseRpcContext<StageContextArgs> {
  get topic(): string {
    return this.args[0];
  }

  get partition(): number {
    return this.args[1];
  }

  get stage(): string {
    return this.args[2];
  }
}
