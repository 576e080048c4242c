import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hashPassword, verifyPassword } from '../../lib/password.js';
import { randomToken, sameToken, SESSION_COOKIE, SESSION_IDLE_MS } from '../auth/sessions.js';
import { pageContext, safeNext, sendHtml, sessionOf, type WebDeps } from '../context.js';
import { errorPage, loginPage } from '../views/login.js';

/** The login form's own CSRF token (there is no session yet): a double-submit cookie. */
const LOGIN_CSRF_COOKIE = 'bp_login_csrf';

type LoginBody = { login?: string; password?: string; _csrf?: string; next?: string };

/** A hash to verify against when the login does not exist, so both cases take as long. */
const decoyHash = hashPassword(randomToken());

export function cookieOptions(deps: WebDeps, path = '/') {
  return { path, httpOnly: true, sameSite: 'lax' as const, secure: deps.config.publicUrl.startsWith('https:') };
}

/** Public routes: the login form and its POST. */
export function loginRoutes(app: FastifyInstance, deps: WebDeps): void {
  app.get('/login', async (req, reply) => {
    if (await deps.sessions.resume(req.cookies[SESSION_COOKIE])) return reply.redirect('/issues');
    const token = loginCsrfToken(req, reply, deps);
    const next = safeNext((req.query as { next?: string }).next);
    return sendHtml(reply, loginPage(pageContext(deps, req), { csrfToken: token, next }));
  });

  app.post('/login', async (req: FastifyRequest<{ Body: LoginBody }>, reply) => {
    const body = req.body ?? {};
    if (!sameToken(body._csrf, req.cookies[LOGIN_CSRF_COOKIE])) {
      return sendHtml(reply, errorPage(pageContext(deps, req), 403, 'The login form expired or was not sent from this site. Reload the login page and try again.', false), 403);
    }
    const login = String(body.login ?? '').trim().slice(0, 200);
    const next = safeNext(body.next);
    const again = (status: number, error: string) =>
      sendHtml(reply, loginPage(pageContext(deps, req), { csrfToken: String(body._csrf), next, login, error }), status);

    // Counted before the slow check: concurrent guesses each take a place in the count first.
    const attempt = await deps.lockout.attempt(login, req.ip);
    if (!attempt.allowed) return lockedOut(reply, attempt.retryAfterMs, again);
    if (!(await passwordMatches(deps, login, String(body.password ?? '')))) {
      if (attempt.last) return lockedOut(reply, attempt.retryAfterMs, again);
      return again(401, 'Wrong login or password.');
    }
    await deps.lockout.succeeded(login, req.ip);
    const { id } = await deps.sessions.create(login);
    reply.setCookie(SESSION_COOKIE, id, { ...cookieOptions(deps), maxAge: SESSION_IDLE_MS / 1000 });
    reply.clearCookie(LOGIN_CSRF_COOKIE, cookieOptions(deps, '/login'));
    return reply.redirect(next, 303);
  });
}

/** Authenticated: logout (the CSRF check has already run). */
export function logoutRoutes(app: FastifyInstance, deps: WebDeps): void {
  // Logging out changes only the user's own session: a viewer may too.
  app.post('/logout', { config: { role: 'viewer' } }, async (req, reply) => {
    await deps.sessions.destroy(sessionOf(req));
    reply.clearCookie(SESSION_COOKIE, cookieOptions(deps));
    return reply.redirect('/login', 303);
  });
}

function loginCsrfToken(req: FastifyRequest, reply: FastifyReply, deps: WebDeps): string {
  const existing = req.cookies[LOGIN_CSRF_COOKIE];
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  const token = randomToken();
  reply.setCookie(LOGIN_CSRF_COOKIE, token, { ...cookieOptions(deps, '/login'), maxAge: 3600 });
  return token;
}

async function passwordMatches(deps: WebDeps, login: string, password: string): Promise<boolean> {
  const user = login ? await deps.store.getUser(login) : null;
  const ok = await verifyPassword(password, user?.passwordHash ?? (await decoyHash));
  return ok && user !== null;
}

function lockedOut(reply: FastifyReply, waitMs: number, again: (status: number, error: string) => FastifyReply): FastifyReply {
  const minutes = Math.ceil(waitMs / 60_000);
  reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
  return again(429, `Too many failed attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`);
}
