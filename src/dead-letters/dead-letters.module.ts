import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PipelineModule } from '../pipeline/pipeline.module.js';
import { DeadLetterRecord } from './dead-letter.entity.js';
import { DeadLettersController } from './dead-letters.controller.js';
import { DeadLettersService } from './dead-letters.service.js';
import { DeadLettersRepository } from './dead-letters.repository.js';
import { DeadLetterSink } from '../pipeline/ports.js';

@Module({
  imports: [TypeOrmModule.forFeature([DeadLetterRecord]), PipelineModule],
  controllers: [DeadLettersController],
  providers: [DeadLettersService, DeadLettersRepository, { provide: DeadLetterSink, useExisting: DeadLettersService }],
  exports: [DeadLetterSink],
})
export class DeadLettersModule {}
