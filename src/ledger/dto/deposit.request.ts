import { AmountInCurrency } from '../../money/amount-in-currency.dto.js';
import { ClientId } from '../../http/client-id.js';

export class DepositRequest extends AmountInCurrency {
  /** Chosen by the client; the same id never funds twice. */
  @ClientId('depositId', 'DEP-0001')
  depositId!: string;
}
