import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { keepAnAdmin } from '../../http/management-routes.js';
import { formErrors, login as loginRule, newToken, newUser, password as passwordRule, role as roleRule } from '../../http/management.js';
import { ClientError } from '../../lib/errors.js';
import { hashPassword } from '../../lib/password.js';
import { pageContext, sendHtml, sessionOf, type WebDeps } from '../context.js';
import { usersPage, type UsersView } from '../views/users.js';

type Form = FastifyRequest<{ Body: Record<string, unknown>; Params: { login: string; id: string }; Querystring: { saved?: string } }>;
const ADMIN = { config: { role: 'admin' as const } };
const LABELS = { login: 'Login', password: 'Password', role: 'Role', label: 'Label' };

/** Users and API tokens (admins only; the same as /api/v1/users and /api/v1/tokens). */
export function userRoutes(app: FastifyInstance, deps: WebDeps): void {
  const render = async (req: FastifyRequest, reply: FastifyReply, extra: Partial<UsersView> = {}, status = 200) => {
    const [users, tokens] = await Promise.all([deps.store.listUsers(), deps.store.listApiTokens()]);
    return sendHtml(reply, usersPage(pageContext(deps, req), { users, tokens, ...extra }), status);
  };
  const back = (reply: FastifyReply, saved: string) => reply.redirect(`/users?saved=${encodeURIComponent(saved)}`, 303);
  const adminOnly = (req: FastifyRequest) => {
    if (sessionOf(req).role !== 'admin') throw new ClientError(403, 'Only an admin sees users and API tokens.');
  };

  app.get('/users', async (req: Form, reply) => {
    adminOnly(req);
    return render(req, reply, req.query.saved ? { flash: req.query.saved } : {});
  });

  app.post('/users', ADMIN, async (req: Form, reply) => {
    const parsed = newUser.safeParse(fields(req.body, ['login', 'password', 'role']));
    if (!parsed.success) return render(req, reply, { errors: formErrors(parsed.error, LABELS) }, 400);
    if (await deps.store.getUser(parsed.data.login)) return render(req, reply, { errors: [`Login: "${parsed.data.login}" already exists; reset its password below instead.`] }, 409);
    await deps.store.addUser(parsed.data.login, await hashPassword(parsed.data.password), parsed.data.role);
    return back(reply, `Added ${parsed.data.login} (${parsed.data.role}).`);
  });

  app.post('/users/:login/role', ADMIN, async (req: Form, reply) => {
    const user = await userOr404(deps, req.params.login);
    const parsed = roleRule.safeParse(req.body?.role);
    if (!parsed.success) return render(req, reply, { errors: [`Role: ${parsed.error.issues[0]!.message}.`] }, 400);
    if (parsed.data !== 'admin' && user.role === 'admin') await keepAnAdmin(deps.store, user.login);
    await deps.store.setUserRole(user.login, parsed.data);
    return back(reply, `${user.login} is now ${parsed.data}.`);
  });

  app.post('/users/:login/password', ADMIN, async (req: Form, reply) => {
    const user = await userOr404(deps, req.params.login);
    const parsed = passwordRule.safeParse(req.body?.password);
    if (!parsed.success) return render(req, reply, { errors: [`Password: ${parsed.error.issues[0]!.message}.`] }, 400);
    await deps.store.setUserPassword(user.login, await hashPassword(parsed.data));
    return back(reply, `Set a new password for ${user.login}; their sessions ended.`);
  });

  app.post('/users/:login/remove', ADMIN, async (req: Form, reply) => {
    const user = await userOr404(deps, req.params.login);
    if (user.login === sessionOf(req).login) return render(req, reply, { errors: ['You cannot remove yourself; another admin can.'] }, 409);
    if (user.role === 'admin') await keepAnAdmin(deps.store, user.login);
    await deps.store.removeUser(user.login);
    return back(reply, `Removed ${user.login}.`);
  });

  app.post('/tokens', ADMIN, async (req: Form, reply) => {
    const parsed = newToken.safeParse(fields(req.body, ['label', 'role']));
    if (!parsed.success) return render(req, reply, { errors: formErrors(parsed.error, LABELS) }, 400);
    const { token } = await deps.store.createApiToken(parsed.data.label, parsed.data.role);
    // Rendered, not redirected: the token must not travel in a URL, and it is shown this once.
    return render(req, reply, { newToken: { label: parsed.data.label, token } }, 201);
  });

  app.post('/tokens/:id/revoke', ADMIN, async (req: Form, reply) => {
    const id = /^\d+$/.test(req.params.id) ? Number(req.params.id) : NaN;
    if (!(await deps.store.revokeApiToken(id))) throw new ClientError(404, `There is no API token ${req.params.id}.`);
    return back(reply, 'Revoked the token; requests with it are refused from now on.');
  });
}

async function userOr404(deps: WebDeps, login: string) {
  const parsed = loginRule.safeParse(login);
  const user = parsed.success ? await deps.store.getUser(parsed.data) : null;
  if (!user) throw new ClientError(404, `There is no user "${login}".`);
  return user;
}

/** The named fields of a form body that are strings (a form never sends anything else). */
function fields(body: Record<string, unknown> | undefined, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) if (typeof body?.[name] === 'string') out[name] = body[name] as string;
  return out;
}
