// Media and other non-text messages. They are accepted and recorded with plausible Message
// fields (file ids, sizes) so bots that send a photo or a document keep working; the bytes
// are not kept.
import { randomBytes } from 'node:crypto';
import type { Core } from '../core.js';
import { badRequest } from '../errors.js';
import { formatCaption } from '../formatting/format.js';
import type { UploadedFile } from '../http/body.js';
import type { MessageEntity, StoredFile as File } from '../types.js';
import type { Handler, MethodContext } from './context.js';
import { readReplyMarkup } from './reply-markup.js';

function isUpload(value: unknown): value is UploadedFile {
  return typeof value === 'object' && value !== null && 'filename' in value && 'size' in value;
}

/** A file_id the fake issued is reused; anything else (an upload, a URL) becomes a new file. */
function registerFile(core: Core, input: unknown, kind: string): File {
  if (typeof input === 'string' && core.files.has(input)) return core.files.get(input) as File;
  const id = randomBytes(12).toString('base64url');
  const file: File = { file_id: `${kind}-${id}`, file_unique_id: `u${id.slice(0, 10)}`, file_path: `${kind}s/file_${core.files.size}` };
  if (isUpload(input)) {
    file.file_size = input.size;
    file.file_name = input.filename;
    file.mime_type = input.contentType;
  } else if (typeof input === 'string' && /^https?:\/\//.test(input)) {
    file.file_name = input.split('/').pop() || 'file';
  }
  core.files.set(file.file_id, file);
  return file;
}

const shortFile = (file: File): Record<string, unknown> => ({
  file_id: file.file_id,
  file_unique_id: file.file_unique_id,
  ...(file.file_size !== undefined ? { file_size: file.file_size } : {}),
});

/** The Message field each media method fills, built from the stored file. */
const MEDIA_FIELDS: Record<string, (file: File) => unknown> = {
  photo: (file) => [
    { ...shortFile(file), file_id: `${file.file_id}-s`, width: 90, height: 90 },
    { ...shortFile(file), width: 800, height: 800 },
  ],
  document: (file) => ({ ...shortFile(file), file_name: file.file_name ?? 'document.dat', mime_type: file.mime_type ?? 'application/octet-stream' }),
  video: (file) => ({ ...shortFile(file), width: 640, height: 360, duration: 1 }),
  audio: (file) => ({ ...shortFile(file), duration: 1 }),
  voice: (file) => ({ ...shortFile(file), duration: 1, mime_type: 'audio/ogg' }),
  animation: (file) => ({ ...shortFile(file), width: 320, height: 240, duration: 1 }),
  sticker: (file) => ({ ...shortFile(file), type: 'regular', width: 512, height: 512, is_animated: false, is_video: false }),
  video_note: (file) => ({ ...shortFile(file), length: 240, duration: 1 }),
};

/** Records a non-text message of `kind` with `content` as its Message field. */
function addNonText(ctx: MethodContext, kind: string, content: unknown, allowCaption: boolean): unknown {
  const { params } = ctx;
  const parseMode = params.string('parse_mode');
  const captionEntities = params.json<MessageEntity[]>('caption_entities', "can't parse caption entities JSON object");
  const caption = allowCaption ? formatCaption(params.string('caption'), parseMode, captionEntities) : undefined;
  const replyMarkup = readReplyMarkup(params);
  const target = ctx.targetChat();
  const record = target.log.add({
    fromBot: true,
    from: ctx.bot.user,
    kind,
    caption: caption?.text,
    entities: caption?.entities ?? [],
    parseMode: caption ? parseMode : undefined,
    sourceText: params.string('caption'),
    replyMarkup,
    messageThreadId: ctx.threadId(target),
    replyTo: ctx.replyTarget(target),
    disableNotification: params.boolean('disable_notification'),
    protectContent: params.boolean('protect_content'),
    extra: { [kind]: content },
  });
  return record.message;
}

function mediaSender(field: string): Handler {
  return (ctx) => {
    const input = ctx.params.raw[field];
    if (input === undefined || input === '') throw badRequest(`there is no ${field} in the request`);
    const file = registerFile(ctx.core, input, field);
    const build = MEDIA_FIELDS[field] as (file: File) => unknown;
    return addNonText(ctx, field, build(file), field !== 'sticker' && field !== 'video_note');
  };
}

export const mediaMethods: Record<string, Handler> = {
  sendPhoto: mediaSender('photo'),
  sendDocument: mediaSender('document'),
  sendVideo: mediaSender('video'),
  sendAudio: mediaSender('audio'),
  sendVoice: mediaSender('voice'),
  sendAnimation: mediaSender('animation'),
  sendSticker: mediaSender('sticker'),
  sendVideoNote: mediaSender('video_note'),
};

function required(ctx: MethodContext, name: string): unknown {
  const value = ctx.params.raw[name];
  if (value === undefined || value === '') throw badRequest(`${name} is empty`);
  return value;
}

export const otherSenders: Record<string, Handler> = {
  sendLocation: (ctx) =>
    addNonText(ctx, 'location', { latitude: Number(required(ctx, 'latitude')), longitude: Number(required(ctx, 'longitude')) }, false),
  sendContact: (ctx) =>
    addNonText(ctx, 'contact', { phone_number: String(required(ctx, 'phone_number')), first_name: String(required(ctx, 'first_name')) }, false),
  sendDice: (ctx) =>
    addNonText(ctx, 'dice', { emoji: ctx.params.string('emoji') ?? '🎲', value: 1 + Math.floor(Math.random() * 6) }, false),
  sendPoll: (ctx) => {
    const options = ctx.params.json<unknown[]>('options', "can't parse options JSON object") ?? [];
    if (options.length < 2) throw badRequest('poll must have at least 2 option');
    const poll = {
      id: String(Date.now()),
      question: String(required(ctx, 'question')),
      options: options.map((o) => ({ text: typeof o === 'string' ? o : String((o as { text?: unknown }).text ?? ''), voter_count: 0 })),
      total_voter_count: 0,
      is_closed: false,
      is_anonymous: ctx.params.raw['is_anonymous'] === undefined ? true : ctx.params.boolean('is_anonymous'),
      type: ctx.params.string('type') ?? 'regular',
      allows_multiple_answers: ctx.params.boolean('allows_multiple_answers'),
    };
    return addNonText(ctx, 'poll', poll, false);
  },
};

export const getFile: Handler = (ctx) => {
  const fileId = ctx.params.string('file_id');
  const file = fileId === undefined ? undefined : ctx.core.files.get(fileId);
  if (!file) throw badRequest('invalid file_id');
  return { file_id: file.file_id, file_unique_id: file.file_unique_id, file_size: file.file_size, file_path: file.file_path };
};
