import { jest } from '@jest/globals';

// Unit specs talk to no server: one that needs more than 5 s is stuck, not slow (the e2e default is 60 s).
jest.setTimeout(5_000);
