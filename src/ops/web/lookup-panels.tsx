import { useEffect, useState } from 'preact/hooks';
import type { CurrentState, HistoryEntry } from '../../pipeline/payment-view.js';
import { ApiError, call, clock } from './api.js';

/** The API's answers (GET /api/payments/{id} and /events): the server's own types. */
type PaymentState = CurrentState;

interface Refund {
  refundId: string;
  amount: string;
  currency: string;
  status: string;
  outcomeReason?: string;
  reason?: string;
  requestedAt: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * One payment's story: its current state, every step from its Redis stream in the order the status
 * machine runs them (the API falls back to PostgreSQL when Redis no longer holds it), and its refunds.
 */
export function LookupPanel({ requested }: { requested: { paymentId: string; at: number } | null }) {
  const [paymentId, setPaymentId] = useState('');
  const [found, setFound] = useState<{ state: PaymentState; history: HistoryEntry[]; refunds: Refund[] } | null>(null);
  const [error, setError] = useState<string | null>(null);

  const lookUp = async (id: string) => {
    setError(null);
    setFound(null);
    if (!UUID.test(id)) return setError('A paymentId is a UUID, e.g. 3f1c2a9e-…');
    try {
      const [state, history] = await Promise.all([call<PaymentState>(`/api/payments/${id}`), call<HistoryEntry[]>(`/api/payments/${id}/events`)]);
      const refunds = state.status === 'COMPLETED' ? await call<Refund[]>(`/api/payments/${id}/refunds`) : [];
      setFound({ state, history, refunds });
    } catch (e) {
      setError(e instanceof ApiError && e.status === 404 ? `No payment ${id}.` : (e as Error).message);
    }
  };

  useEffect(() => {
    if (!requested) return;
    setPaymentId(requested.paymentId);
    void lookUp(requested.paymentId);
    document.getElementById('lookup-title')?.scrollIntoView({ block: 'start' });
  }, [requested]);

  return (
    <section aria-labelledby="lookup-title" class="panel panel-wide">
      <h2 id="lookup-title">Payment lookup</h2>
      <form
        class="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          void lookUp(paymentId.trim());
        }}
      >
        <label for="lookup-id">Payment ID</label>
        <input id="lookup-id" name="paymentId" value={paymentId} onInput={(e) => setPaymentId((e.target as HTMLInputElement).value)} size={40} autocomplete="off" spellcheck={false} />
        <button type="submit">Look up</button>
      </form>
      {error && <p role="alert">{error}</p>}
      {found && (
        <div class="lookup">
          <dl class="facts">
            {(
              [
                ['Status', <span class={`status status-${found.state.status.toLowerCase()}`}>{found.state.status}</span>],
                ['Amount', `${found.state.amount} ${found.state.currency}`],
                ['Order', found.state.orderId],
                ['Payer', found.state.userId],
                ['Merchant', found.state.merchantId],
                ['Refunded', found.state.amountRefunded ? `${found.state.amountRefunded} (${found.state.refundStatus})` : '–'],
              ] as const
            ).map(([term, value]) => (
              <div key={term}>
                <dt>{term}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
          <h3>Timeline</h3>
          <ol class="timeline" aria-label="Payment timeline">
            {found.history.map((step, i) => (
              <li key={i} data-status={step.status}>
                <span class={`status status-${step.status.toLowerCase()}`}>{step.status}</span> <span class="muted">{step.stage}</span> <time dateTime={step.at}>{clock(step.at)}</time>
                {step.reason && <span class="reason"> · {step.reason}</span>}
                {step.detail && <Detail detail={step.detail} />}
              </li>
            ))}
          </ol>
          {found.refunds.length > 0 && (
            <>
              <h3>Refunds</h3>
              <table aria-label="Refunds of the payment">
                <thead>
                  <tr>
                    <th scope="col">Refund</th>
                    <th scope="col">Amount</th>
                    <th scope="col">Status</th>
                    <th scope="col">Requested</th>
                  </tr>
                </thead>
                <tbody>
                  {found.refunds.map((r) => (
                    <tr key={r.refundId}>
                      <td>
                        <code>{r.refundId}</code>
                      </td>
                      <td>
                        {r.amount} {r.currency}
                      </td>
                      <td>
                        {r.status}
                        {r.outcomeReason ? ` (${r.outcomeReason})` : ''}
                      </td>
                      <td>{clock(r.requestedAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </div>
      )}
    </section>
  );
}

/** A step's detail: the fraud stage's risk score and rules in words, anything else as it is. */
function Detail({ detail }: { detail: Record<string, unknown> }) {
  return (
    <ul class="detail">
      {Object.entries(detail).map(([key, value]) => {
        const risk = key === 'risk' ? (value as { score?: number; rules?: unknown[] }) : null;
        return (
          <li key={key} data-detail={key}>
            {risk ? (
              <>
                risk score <strong>{risk.score}</strong>
                {risk.rules && risk.rules.length > 0 ? <>, rules {risk.rules.map((rule) => (typeof rule === 'string' ? rule : JSON.stringify(rule))).join(', ')}</> : ', no rule fired'}
              </>
            ) : (
              <>
                {key}: <code>{typeof value === 'object' ? JSON.stringify(value) : String(value)}</code>
              </>
            )}
          </li>
        );
      })}
    </ul>
  );
}
