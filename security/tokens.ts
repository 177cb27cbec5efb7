/**
 * Access tokens: JWT signed with Ed25519 (EdDSA) through jose. One algorithm is pinned on both sides,
 * `exp`, `iss`, `aud` and `kid` are required, lifetime at most 15 minutes. Verification keys form a
 * key set so signing keys can rotate with overlap.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import { AppError } from '../domain/errors';
import type { Role } from '../domain/client-role';

export const ALG = 'EdDSA';
export const MAX_TTL_SECONDS = 900;

export interface TokenClaims {
  sub: string;
  role: Role;
  /** Operator session id (operators only), for idle timeout and revocation. */
  sid?: string | undefined;
}

export interface TokenServiceOptions {
  privateKeyPem: string;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  /** Extra public keys still accepted (rotation overlap), by kid. */
  previousPublicKeys?: Map<string, KeyObject>;
}

export function keyIdOf(pub: KeyObject): string {
  const jwk = pub.export({ format: 'jwk' });
  return `ed25519-${String(jwk.x).slice(0, 16)}`;
}

/** Ed25519 public keys (SPKI PEM, any number concatenated) by kid; throws on anything else. */
export function publicKeysFromPem(pems: string): Map<string, KeyObject> {
  const m = new Map<string, KeyObject>();
  for (const pem of pems.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? []) {
    const k = createPublicKey(pem);
    if (k.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 public key');
    m.set(keyIdOf(k), k);
  }
  return m;
}

/**
 * Verification only, for processes that check tokens but must not be able to mint them (the codec
 * server): the public keys of the signing key and of any key still in its rotation overlap.
 */
export function createTokenVerifier(opts: {
  publicKeys: Map<string, KeyObject>;
  issuer: string;
  audience: string;
}) {
  return {
    verify: (token: string) => verifyWith(token, (kid) => (kid ? opts.publicKeys.get(kid) : undefined), opts),
  };
}

async function verifyWith(
  token: string,
  keyFor: (kid: string | undefined) => KeyObject | undefined,
  opts: { issuer: string; audience: string },
): Promise<TokenClaims & { exp: number }> {
  try {
    const { payload } = await jwtVerify(
      token,
      (header) => {
        const key = keyFor(header.kid);
        if (!key) throw new joseErrors.JWKSNoMatchingKey();
        return key;
      },
      {
        algorithms: [ALG],
        typ: 'JWT',
        issuer: opts.issuer,
        audience: opts.audience,
        requiredClaims: ['exp', 'iat', 'sub'],
      },
    );
    const role = payload.role;
    if (role !== 'service' && role !== 'admin' && role !== 'auditor') throw new Error('bad role');
    if (
      typeof payload.exp !== 'number' ||
      typeof payload.iat !== 'number' ||
      payload.exp - payload.iat > MAX_TTL_SECONDS
    ) {
      throw new Error('bad lifetime');
    }
    return {
      sub: String(payload.sub),
      role,
      sid: typeof payload.sid === 'string' ? payload.sid : undefined,
      exp: payload.exp,
    };
  } catch {
    throw new AppError('authentication', 'invalid_token', 'The access token is invalid or expired');
  }
}

export function createTokenService(opts: TokenServiceOptions) {
  const ttl = Math.min(opts.ttlSeconds, MAX_TTL_SECONDS);
  let signer = signingKey(opts.privateKeyPem);
  /**
   * Verification keys by kid. A retired signing key stays until every token it signed has expired
   * (`until`), then drops out of both verification and the JWKS: rotation with overlap.
   */
  const verifyKeys = new Map<string, { key: KeyObject; until?: number }>([
    [signer.kid, { key: signer.publicKey }],
    ...[...(opts.previousPublicKeys ?? new Map<string, KeyObject>())].map(
      ([k, key]) => [k, { key }] as [string, { key: KeyObject }],
    ),
  ]);
  const liveKey = (kid: string | undefined): KeyObject | undefined => {
    const e = kid ? verifyKeys.get(kid) : undefined;
    if (!e) return undefined;
    if (e.until !== undefined && Date.now() > e.until) {
      verifyKeys.delete(kid!);
      return undefined;
    }
    return e.key;
  };

  return {
    ttlSeconds: ttl,
    get kid() {
      return signer.kid;
    },
    /**
     * Switch to a new signing key (generated here unless given). The previous public key is still
     * accepted for one token lifetime, so tokens issued just before the rotation keep working.
     */
    rotate(newPrivateKeyPem?: string): { kid: string; previousKid: string } {
      const next = newPrivateKeyPem
        ? signingKey(newPrivateKeyPem)
        : signingKey(
            generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
          );
      const previousKid = signer.kid;
      verifyKeys.set(previousKid, { key: signer.publicKey, until: Date.now() + ttl * 1000 + 5_000 });
      verifyKeys.set(next.kid, { key: next.publicKey });
      signer = next;
      return { kid: next.kid, previousKid };
    },
    async issue(claims: TokenClaims): Promise<string> {
      const extra: JWTPayload = { role: claims.role };
      if (claims.sid) extra.sid = claims.sid;
      return new SignJWT(extra)
        .setProtectedHeader({ alg: ALG, kid: signer.kid, typ: 'JWT' })
        .setSubject(claims.sub)
        .setIssuer(opts.issuer)
        .setAudience(opts.audience)
        .setIssuedAt()
        .setExpirationTime(`${ttl}s`)
        .sign(signer.privateKey);
    },
    verify(token: string): Promise<TokenClaims & { exp: number }> {
      return verifyWith(token, liveKey, opts);
    },
    /** JWKS for the public verification keys (GET /.well-known/jwks.json). */
    jwks() {
      return {
        keys: [...verifyKeys.keys()].flatMap((k) => {
          const pub = liveKey(k);
          return pub ? [{ ...pub.export({ format: 'jwk' }), kid: k, alg: ALG, use: 'sig' }] : [];
        }),
      };
    },
    /** For the admin key-rotation route: kids and which one signs. */
    keys() {
      return [...verifyKeys.entries()]
        .filter(([k]) => liveKey(k))
        .map(([k, e]) => ({
          kid: k,
          signing: k === signer.kid,
          acceptedUntil: e.until ? new Date(e.until).toISOString() : null,
        }));
    },
  };
}
function signingKey(pem: string) {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new Error('SETTLE_JWT_PRIVATE_KEY must be an Ed25519 key');
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, kid: keyIdOf(publicKey) };
}
export type TokenService = ReturnType<typeof createTokenService>;
