import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import SwaggerParser from '@apidevtools/swagger-parser';
import { startTestApp, type RunningApp } from './support/test-app.js';

describe('the served OpenAPI document', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startTestApp({}, { consumers: false });
  });

  afterAll(async () => {
    await running?.close();
  });

  it('should pass a standard validator, so client generators take the whole document', async () => {
    const response = await fetch(`${running.url}/api/docs-json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/api/payments', '/api/payments/{paymentId}', '/api/payments/{paymentId}/refunds', '/api/refunds/{refundId}']));
    // The refund's answers have their schema, the 202 its Location header.
    const refunds = document.paths['/api/payments/{paymentId}/refunds'] as { post: { responses: Record<string, { headers?: object; content?: Record<string, { schema: { $ref?: string } }> }> } };
    expect(refunds.post.responses['202'].content?.['application/json'].schema.$ref).toBe('#/components/schemas/RefundDoc');
    expect(refunds.post.responses['202'].headers).toHaveProperty('Location');
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeDefined();
  });

  it('should serve Swagger UI and its assets (@fastify/static under Fastify)', async () => {
    const page = await fetch(`${running.url}/api/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('swagger-ui-bundle.js');
    const bundle = await fetch(`${running.url}/api/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
  });
});
