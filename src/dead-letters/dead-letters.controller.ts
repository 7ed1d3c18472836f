import { Controller, DefaultValuePipe, Get, HttpCode, HttpStatus, Param, ParseIntPipe, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/principal.js';
import type { DeadLetterRecord } from './dead-letter.entity.js';
import { DeadLettersService } from './dead-letters.service.js';

/** Operators' view of dead letters. Admin API keys only (merchant keys get 403). */
@ApiTags('admin')
@AdminOnly()
@Controller('api/admin/dead-letters')
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersService) {}

  @Get()
  @ApiOperation({ summary: 'The newest dead letters' })
  async list(@Query('limit', new DefaultValuePipe(100), ParseIntPipe) limit: number): Promise<{ deadLetters: DeadLetterRecord[] }> {
    return { deadLetters: await this.deadLetters.list(Math.min(Math.max(limit, 1), 1000)) };
  }

  @Post(':id/replay')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Publish a dead letter to its original topic again' })
  replay(@Param('id') id: string): Promise<DeadLetterRecord> {
    return this.deadLetters.replay(id);
  }
}
