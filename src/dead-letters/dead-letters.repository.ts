import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import { DeadLetterRecord } from './dead-letter.entity.js';

export type NewDeadLetter = Omit<DeadLetterRecord, 'id' | 'createdAt' | 'replayedAt'>;

/** The `dead_letters` table. */
@Injectable()
export class DeadLettersRepository {
  constructor(@InjectRepository(DeadLetterRecord) private readonly letters: Repository<DeadLetterRecord>) {}

  /** Keeps a dead letter; the same source message dead-lettered again (a crash before its commit) is kept once. */
  async add(letter: NewDeadLetter): Promise<void> {
    await this.letters.createQueryBuilder().insert().values({ id: randomUUID(), ...letter }).orIgnore().execute();
  }

  newestFirst(limit: number): Promise<DeadLetterRecord[]> {
    return this.letters.find({ order: { createdAt: 'DESC' }, take: limit });
  }

  findById(id: string): Promise<DeadLetterRecord | null> {
    return this.letters.findOneBy({ id });
  }

  async markReplayed(letter: DeadLetterRecord, at: Date): Promise<void> {
    letter.replayedAt = at;
    await this.letters.save(letter);
  }
}
