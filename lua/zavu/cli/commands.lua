-- zavu.cli.commands: the command tree - every command, its words, its flags
-- and its help. The handlers live in zavu.cli.sessions, zavu.cli.nodes,
-- zavu.cli.messages and zavu.cli.senders;
-- the parser (zavu.cli.args), the help (zavu.cli.help) and the shell
-- completion scripts (zavu.cli.completion) are all made from this table.
--
-- A leaf (a command that runs) has run = "module.function", usage, summary,
-- and may have flags, args (the names of its words: { "ID", "SENDER" }), rest
-- (the last word repeats), min (fewest words) and values (what its words may
-- be: a list, checked and completed, or "commands", the words of this tree).
-- A flag has name, help, key, and, when it takes a value, value (its name in
-- the help; "FILE" completes file names) and kind (how zavu.cli.args reads
-- it), with choices for the kinds "choice" and "list".
local M = {}

M.STATUSES = { "initializing", "qr_ready", "authenticating", "ready", "disconnected", "failed" }

-- Flags every command takes.
M.common = {
  {
    name = "--base-url",
    value = "URL",
    kind = "url",
    key = "base_url",
    help = "the API (default $ZAVUDEV_BASE_URL, else https://api.zavu.dev)",
  },
  {
    name = "--timeout",
    value = "SECS",
    kind = "seconds",
    key = "timeout",
    help = "per attempt, default 60 (also 500ms, 2m)",
  },
  { name = "--connect-timeout", value = "SECS", kind = "seconds", key = "connect_timeout", help = "default 10" },
  {
    name = "--max-retries",
    value = "N",
    kind = "count",
    min = 0,
    max = 100,
    key = "max_retries",
    help = "extra attempts on network errors, 408, 409, 429, 5xx; default 2",
  },
  {
    name = "--ca-file",
    value = "FILE",
    kind = "string",
    key = "ca_file",
    help = "a private CA bundle (verification is always on)",
  },
  { name = "--json", key = "json", help = "the data, or the error, as JSON on stdout" },
  { name = "--verbose", short = "-v", key = "verbose", help = "one line per attempt on stderr (or ZAVUDEV_LOG=debug)" },
}

local status_flag = {
  name = "--status",
  value = "S[,S]",
  kind = "list",
  choices = M.STATUSES,
  key = "status",
  help = "only these statuses: " .. table.concat(M.STATUSES, ", "),
}
local concurrency = {
  name = "--concurrency",
  value = "N",
  kind = "count",
  min = 1,
  max = 64,
  key = "concurrency",
  help = "deletes in flight at once, default 8",
}
local wait_timeout = {
  name = "--wait-timeout",
  value = "SECS",
  kind = "seconds",
  key = "wait_timeout",
  help = "give up waiting after this long, default 5m",
}
local interval = {
  name = "--interval",
  value = "SECS",
  kind = "seconds",
  key = "interval",
  help = "how often to look at the session, default 2s",
}
local egress = {
  name = "--egress",
  value = "KIND",
  kind = "choice",
  choices = { "external", "android" },
  key = "egress",
  help = "external (the managed Zavu proxy, the default) or android (a device: --node)",
}
local node = { name = "--node", value = "ID", key = "node", help = "the egress node, for --egress android" }

local function leaf(t)
  t.leaf = true
  return t
end
local function id_command(run, summary) return leaf { run = run, args = { "ID" }, usage = "ID", summary = summary } end

M.tree = {
  common = M.common,
  commands = {
    sessions = {
      summary = "WhatsApp Alternative sessions",
      commands = {
        list = leaf {
          run = "sessions.list",
          usage = "[--status S[,S]]",
          flags = { status_flag },
          summary = "a table: id, name, status, phone, created",
        },
        get = id_command("sessions.get", "show one session"),
        create = leaf {
          run = "sessions.create",
          flags = {
            { name = "--name", value = "NAME", key = "name", help = "the session's display name" },
            egress,
            node,
            {
              name = "--wait",
              key = "wait",
              help = "show the QR code, redrawn as it rotates, until the session is ready",
            },
            wait_timeout,
            interval,
          },
          usage = "[--name NAME] [--egress external|android --node ID] [--wait]",
          summary = "create a session; --wait shows its QR code until it is ready",
        },
        wait = leaf {
          run = "sessions.wait",
          args = { "ID" },
          flags = { status_flag, wait_timeout, interval },
          usage = "ID [--status S[,S]] [--wait-timeout SECS]",
          summary = "wait for a session to be ready, showing its QR code",
        },
        delete = leaf {
          run = "sessions.delete",
          args = { "ID" },
          rest = true,
          min = 0,
          flags = {
            { name = "--missing-ok", key = "missing_ok", help = "a session already gone counts as deleted" },
            { name = "--from-file", value = "FILE", key = "from_file", help = "ids one per line; - reads stdin" },
            concurrency,
          },
          usage = "ID... [--missing-ok] [--from-file FILE|-] [--concurrency N]",
          summary = "delete sessions (and log their devices out)",
        },
        prune = leaf {
          run = "sessions.prune",
          flags = {
            status_flag,
            {
              name = "--older-than",
              value = "AGE",
              kind = "age",
              key = "older_than",
              help = "created at least AGE ago: 7d, 12h, 30m",
            },
            { name = "--dry-run", key = "dry_run", help = "show what would be deleted; delete nothing" },
            { name = "--yes", short = "-y", key = "yes", help = "delete without asking (needed off a terminal)" },
            concurrency,
          },
          usage = "[--status S[,S]] [--older-than AGE] [--dry-run] [--yes]",
          summary = "delete the sessions that match, after asking",
        },
        reconnect = id_command("sessions.reconnect", "reconnect a session"),
        logout = id_command("sessions.logout", "log a session's device out of WhatsApp"),
        unlink = id_command("sessions.unlink", "unlink a session from its sender"),
        link = leaf {
          run = "sessions.link",
          args = { "ID", "SENDER" },
          usage = "ID SENDER",
          summary = "link a session to a sender",
        },
        ["set-egress"] = leaf {
          run = "sessions.set_egress",
          args = { "ID" },
          flags = { egress, node },
          usage = "ID --egress external|android [--node ID]",
          summary = "change how a session reaches WhatsApp",
        },
      },
    },
    ["egress-nodes"] = {
      summary = "Android egress nodes",
      commands = {
        list = leaf {
          run = "nodes.list",
          flags = {
            {
              name = "--sender",
              value = "ID",
              key = "sender",
              help = "the sender whose nodes to list (required)",
            },
          },
          usage = "--sender ID",
          summary = "list a sender's egress nodes",
        },
        get = id_command("nodes.get", "show one egress node"),
        create = leaf {
          run = "nodes.create",
          flags = {
            {
              name = "--sender",
              value = "ID",
              key = "sender",
              help = "the sender the device belongs to (required)",
            },
            { name = "--label", value = "LABEL", key = "label", help = "a label for the device" },
          },
          usage = "--sender ID [--label LABEL]",
          summary = "register a device, print its pairing",
        },
        delete = id_command("nodes.delete", "delete an egress node"),
        ["pairing-token"] = id_command("nodes.pairing_token", "re-issue a node's pairing payload"),
      },
    },
    ["proxy-status"] = leaf { run = "nodes.proxy_status", usage = "", summary = "the managed proxy's status" },
    completion = leaf {
      run = "completion",
      args = { "SHELL" },
      values = { "bash", "zsh", "fish" },
      usage = "bash|zsh|fish",
      summary = "print the completion script for that shell",
    },
    help = leaf {
      run = "help",
      args = { "COMMAND" },
      values = "commands",
      rest = true,
      min = 0,
      usage = "[COMMAND...]",
      summary = "help for a command",
    },
  },
}

-- `zavu messages ...` and `zavu senders ...` (zavu.cli.messages, zavu.cli.senders).
local function text_flag(name, key, value, help) return { name = name, value = value, key = key, help = help } end
M.tree.commands.messages = {
  summary = "send messages, and read them back",
  commands = {
    send = leaf {
      run = "messages.send",
      flags = {
        text_flag("--to", "to", "TO", "the recipient: +E.164, an email address, a group JID (<id>@g.us)"),
        text_flag("--text", "text", "TEXT", "the text, or a media's caption; - reads it from standard input"),
        text_flag("--channel", "channel", "CHANNEL", "whatsapp_alt, sms, whatsapp, ... (default: the API chooses)"),
        text_flag("--sender", "sender", "ID", "the sender to send as (the Zavu-Sender header; default: the project's)"),
        text_flag("--type", "type", "TYPE", "the message type: text (default), image, video, audio, document, ..."),
        { name = "--media-url", value = "URL", kind = "url", key = "media_url", help = "the media, for --type" },
        text_flag(
          "--idempotency-key",
          "idempotency_key",
          "KEY",
          "sent at most once per key (default: a new random key, kept across retries)"
        ),
      },
      usage = "--to TO --text TEXT|- [--channel C] [--sender ID] [--type T]",
      summary = "send a message; retried safely, never sent twice",
    },
    list = leaf {
      run = "messages.list",
      flags = {
        text_flag("--channel", "channel", "CHANNEL", "only this channel"),
        text_flag("--status", "status", "STATUS", "only this status: queued, sent, delivered, failed, ..."),
        text_flag("--to", "to", "TO", "only to this recipient"),
        {
          name = "--limit",
          value = "N",
          kind = "count",
          min = 1,
          max = 100000,
          key = "limit",
          help = "at most N, default 50",
        },
      },
      usage = "[--channel C] [--status S] [--to T] [--limit N]",
      summary = "a table: id, to, channel, type, status, created, text",
    },
    get = id_command("messages.get", "show one message"),
  },
}
M.tree.commands.senders = {
  summary = "senders and their webhooks",
  commands = {
    list = leaf { run = "senders.list", usage = "", summary = "a table: id, name, phone, default, webhook, signature" },
    get = id_command("senders.get", "show one sender"),
    update = leaf {
      run = "senders.update",
      args = { "ID" },
      flags = {
        { name = "--webhook-url", value = "URL", kind = "url", key = "webhook_url", help = "where its events go" },
        { name = "--no-webhook", key = "no_webhook", help = "remove the webhook" },
        text_flag("--webhook-events", "webhook_events", "E[,E]", "the events to deliver: message.inbound, ..."),
        {
          name = "--signature-version",
          value = "V",
          kind = "choice",
          choices = { "v1", "v1+v2", "v2" },
          key = "signature_version",
          help = "X-Zavu-Signature: v1 -> v1+v2 -> v2, one step at a time",
        },
        { name = "--active", key = "active", help = "resume deliveries" },
        { name = "--inactive", key = "inactive", help = "pause deliveries" },
      },
      usage = "ID [--webhook-url URL|--no-webhook] [--signature-version V]",
      summary = "change a sender's webhook",
    },
    ["regenerate-secret"] = leaf {
      run = "senders.regenerate_secret",
      args = { "ID" },
      flags = {
        { name = "--yes", short = "-y", key = "yes", help = "regenerate without asking (needed off a terminal)" },
      },
      usage = "ID [--yes]",
      summary = "a new webhook secret; the old one stops working at once",
    },
  },
}

-- `zavu webhooks sign|verify` and `zavu listen` (zavu.cli.webhooks).
local webhooks = require "zavu.cli.webhooks"
for word, child in pairs(webhooks.tree) do
  M.tree.commands[word] = child
end

-- Words in a stable, readable order.
M.ORDER = {
  "sessions",
  "egress-nodes",
  "proxy-status",
  "messages",
  "senders",
  "completion",
  "help",
  "send",
  "list",
  "get",
  "create",
  "update",
  "wait",
  "delete",
  "prune",
  "reconnect",
  "logout",
  "unlink",
  "link",
  "set-egress",
  "pairing-token",
  "regenerate-secret",
}
for i, word in ipairs(M.ORDER) do -- the webhooks' words go before "help"
  if word == "help" then
    for j, w in ipairs(webhooks.ORDER) do
      table.insert(M.ORDER, i + j - 1, w)
    end
    break
  end
end

--- The words under a command (one with commands), in ORDER.
function M.words(command)
  local words, rank = {}, {}
  for i, w in ipairs(M.ORDER) do
    rank[w] = i
  end
  for w in pairs(command.commands or {}) do
    words[#words + 1] = w
  end
  table.sort(words, function(a, b)
    local ra, rb = rank[a] or #M.ORDER + 1, rank[b] or #M.ORDER + 1
    if ra ~= rb then return ra < rb end
    return a < b
  end)
  return words
end

return M
