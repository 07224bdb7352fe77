import { describe, expect, it } from 'vitest';
import { isForbiddenAddress, urlFormProblem } from './address-policy.js';

describe('webhook address policy', () => {
  it.each(['127.0.0.1', '10.1.2.3', '172.16.0.5', '192.168.1.1', '169.254.169.254', '100.100.100.200', '0.0.0.0', '::1', 'fe80::1', 'fd00:ec2::254', '::ffff:127.0.0.1'])(
    'refuses %s',
    (address) => expect(isForbiddenAddress(address)).toBe(true),
  );

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700::1111', '172.32.0.1'])('accepts %s', (address) => expect(isForbiddenAddress(address)).toBe(false));

  it('accepts https only, unless http is allowed; never credentials', () => {
    const strict = { allowHttp: false, allowPrivate: false };
    expect(urlFormProblem('https://example.com/hook', strict)).toBeUndefined();
    expect(urlFormProblem('http://example.com/hook', strict)).toMatch(/only https/);
    expect(urlFormProblem('http://example.com/hook', { ...strict, allowHttp: true })).toBeUndefined();
    expect(urlFormProblem('ftp://example.com/', { ...strict, allowHttp: true })).toMatch(/http/);
    expect(urlFormProblem('https://user:pw@example.com/', strict)).toMatch(/credentials/);
    expect(urlFormProblem('not a url', strict)).toMatch(/absolute/);
  });
});
