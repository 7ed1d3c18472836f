import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';

/**
 * Hands a stage handler's error back to KafkaStageServer untouched. Nest's default RPC filter would
 * replace it with a generic "Internal server error", and the retry log and dead-letter headers need
 * the real cause. Every stage consumer controller uses it (@UseFilters).
 */
@Catch()
export class StageErrorFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}
