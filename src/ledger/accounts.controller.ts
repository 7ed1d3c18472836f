import { Body, Controller, Get, HttpStatus, Param, Post, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/principal.js';
import type { FastifyReply } from 'fastify';
import { HttpErrorCode, RequestError } from '../http/http-errors.js';
import { LedgerError, LedgerErrorCode } from './ledger-errors.js';
import type { CurrencyCode } from '../money/currencies.js';
import { toMinorUnits } from '../money/money.js';
import { formatMinorUnits } from '../money/money.js';
import { CLIENT_ID_PATTERN, clientIdRule } from '../http/client-id.js';
import { DepositRequest } from './dto/deposit.request.js';
import { accountId } from './ledger-account.entity.js';
import { DepositsService } from './deposits.service.js';
import { LedgerService } from './ledger.service.js';

/** Deposits are operator actions; this bound only stops a mistyped amount. */
const MAX_DEPOSIT = '1000000000';

/** Wallet funding and balances. Operator actions: admin API keys only (merchant keys get 403). */
@ApiTags('accounts')
@AdminOnly()
@Controller('api/accounts/:userId')
export class AccountsController {
  constructor(
    private readonly ledger: LedgerService,
    private readonly deposits: DepositsService,
  ) {}

  @Post('deposits')
  @ApiOperation({ summary: "Fund a user's wallet from the funding account (idempotent by depositId)" })
  async deposit(
    @Param('userId') userId: string,
    @Body() body: DepositRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    assertUserId(userId);
    const currency = body.currency as CurrencyCode;
    const amountMinor = toMinorUnits(body.amount, currency, MAX_DEPOSIT);
    const { transfer, created } = await this.deposits.deposit(userId, body.depositId, amountMinor, currency);
    const sameRequest =
      transfer.creditAccountId === accountId('wallet', userId, currency) && BigInt(transfer.amount) === amountMinor;
    if (!sameRequest) {
      throw new LedgerError(LedgerErrorCode.DepositIdReused, `depositId ${body.depositId} was already used for another deposit.`, { param: 'depositId' });
    }
    void reply.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    if (!created) void reply.header('Idempotent-Replayed', 'true');
    return {
      depositId: body.depositId,
      transferId: transfer.id,
      userId,
      amount: formatMinorUnits(amountMinor, currency),
      currency,
      createdAt: transfer.createdAt.toISOString(),
    };
  }

  @Get('balances')
  @ApiOperation({ summary: "A user's wallet balances, one per currency" })
  async balances(@Param('userId') userId: string): Promise<unknown> {
    assertUserId(userId);
    const wallets = await this.ledger.walletsOf(userId);
    if (wallets.length === 0) throw new LedgerError(LedgerErrorCode.AccountNotFound, `No wallet for ${userId}.`);
    return {
      userId,
      balances: wallets.map((wallet) => {
        const currency = wallet.currency as CurrencyCode;
        return {
          currency,
          balance: formatMinorUnits(BigInt(wallet.creditsPosted) - BigInt(wallet.debitsPosted), currency),
          creditsPosted: formatMinorUnits(BigInt(wallet.creditsPosted), currency),
          debitsPosted: formatMinorUnits(BigInt(wallet.debitsPosted), currency),
        };
      }),
    };
  }
}

function assertUserId(userId: string): void {
  if (!CLIENT_ID_PATTERN.test(userId)) throw new RequestError(HttpErrorCode.ParameterInvalid, clientIdRule('userId'), { param: 'userId' });
}
