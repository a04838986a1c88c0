import { describe, expect, it } from 'vitest';
import { admin, call } from '../support/worker-api';

describe('smoke', () => {
  it('answers health', async () => {
    const res = await call('/api/health');
    expect(res.status).toBe(200);
    const res2 = await admin('/api/connections');
    expect(await res2.json()).toEqual({ connections: [] });
  });
});
