"use strict";
// The sandbox's browser chat: talks to /sandbox/api/* and long-polls for changes.
const api = async (path, body) => {
  const options = body === undefined ? {} : body instanceof FormData
    ? { method: "POST", body } : { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body) };
  const response = await fetch("/sandbox/api/" + path, options);
  if (!response.ok) throw new Error(await response.text());
  return response.json();
};
let state = { bots: [], people: [], presets: [] };

function renderEntities(text, entities) {
  // Entity offsets are UTF-16 units, as are JavaScript string indexes.
  const frag = document.createDocumentFragment();
  if (!entities || !entities.length) { frag.append(text); return frag; }
  const tags = { bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code",
    pre: "pre", blockquote: "blockquote", expandable_blockquote: "blockquote", spoiler: "span",
    text_link: "a", url: "a" };
  let pos = 0;
  const sorted = [...entities].sort((a, b) => a.offset - b.offset);
  for (const e of sorted) {
    if (e.offset < pos) continue;  // nested entities: keep the outer one
    frag.append(text.slice(pos, e.offset));
    const el = document.createElement(tags[e.type] || "span");
    el.textContent = text.slice(e.offset, e.offset + e.length);
    if (e.type === "spoiler") el.className = "spoiler";
    if (e.type === "text_link" || e.type === "url") {
      el.href = e.url || el.textContent; el.target = "_blank"; el.rel = "noopener";
    }
    frag.append(el);
    pos = e.offset + e.length;
  }
  frag.append(text.slice(pos));
  return frag;
}

class Pane {
  constructor(userId, bot) {
    this.userId = userId; this.bot = bot; this.version = -1; this.alive = true;
    this.el = document.getElementById("pane-template").content.firstElementChild.cloneNode(true);
    this.el.dataset.user = userId;
    document.getElementById("panes").append(this.el);
    const person = state.people.find(p => p.id === userId) || { first_name: String(userId) };
    this.el.querySelector(".who").textContent = person.first_name;
    this.q(".close").onclick = () => { this.alive = false; this.el.remove(); };
    this.q(".composer").onsubmit = ev => { ev.preventDefault(); this.sendText(); };
    this.q(".menu").onclick = () => { this.q(".commands").hidden = !this.q(".commands").hidden; };
    this.q(".attach-location").onclick = () => {
      this.q(".location").hidden = !this.q(".location").hidden; };
    this.q(".attach-photo input").onchange = ev => this.sendPhoto(ev.target.files[0]);
    this.q(".location").onsubmit = ev => { ev.preventDefault(); this.shareLocation(); };
    for (const p of state.presets) {
      const b = document.createElement("button"); b.type = "button"; b.textContent = p.label;
      b.onclick = () => this.shareLocation(p.latitude, p.longitude);
      this.q(".presets").append(b);
    }
    this.poll();
  }
  q(sel) { return this.el.querySelector(sel); }
  who() { return { user_id: this.userId, bot: this.bot }; }
  async sendText(text) {
    const input = this.q(".composer input[name=text]");
    const value = (text ?? input.value).trim();
    if (!value) return;
    input.value = "";
    await api("send", { ...this.who(), text: value });
  }
  async shareLocation(lat, lon) {
    const f = this.q(".location");
    const body = { ...this.who(), latitude: lat ?? f.latitude.value,
      longitude: lon ?? f.longitude.value, horizontal_accuracy: f.horizontal_accuracy.value };
    await api("location", body);
    f.hidden = true;
  }
  async sendPhoto(file) {
    if (!file) return;
    const form = new FormData();
    form.append("user_id", this.userId); form.append("bot", this.bot); form.append("photo", file);
    await api("photo", form);
  }
  async press(text, messageId) {
    const result = await api("press", { ...this.who(), text, message_id: messageId });
    if (result.url) this.openUrl(result.url);
  }
  async pressReply(button) {
    if (button.request_location) { this.q(".location").hidden = false; return; }
    if (button.request_contact) { await api("contact", this.who()); return; }
    if (button.web_app) {
      const r = await api("web_app", { ...this.who(), url: button.web_app.url });
      this.openUrl(r.url); return;
    }
    await this.sendText(button.text);
  }
  openUrl(url) {
    // Mini Apps open in a frame inside the chat, with #tgWebAppData=... as Telegram appends it.
    if (url.includes("#tgWebAppData=")) {
      let frame = this.q("iframe.webapp");
      if (!frame) {
        frame = document.createElement("iframe"); frame.className = "webapp";
        this.q(".messages").after(frame);
      }
      frame.src = url;
    } else {
      window.open(url, "_blank", "noopener");
    }
  }
  async poll() {
    while (this.alive) {
      try {
        const q = new URLSearchParams({ user_id: this.userId, bot: this.bot, since: this.version });
        const response = await fetch("/sandbox/api/chat?" + q);
        if (!response.ok) throw new Error(response.statusText);
        const chat = await response.json();
        this.version = chat.version;
        this.render(chat);
      } catch (err) {
        this.q(".status").textContent = "offline";
        await new Promise(r => setTimeout(r, 1000));
      }
    }
  }
  render(chat) {
    this.q(".status").textContent = chat.blocked ? "blocked the bot" : "@" + chat.bot.username;
    const list = this.q(".messages");
    list.replaceChildren();
    for (const m of chat.messages) {
      const li = document.createElement("li");
      li.className = m.from_bot ? "bot" : "mine";
      li.dataset.messageId = m.message_id;
      if (m.photo) {
        const img = document.createElement("img");
        img.src = "/sandbox/api/files/" + encodeURIComponent(m.photo); img.alt = "photo";
        li.append(img);
      }
      if (m.location) {
        li.append(`📍 ${m.location.latitude.toFixed(5)}, ${m.location.longitude.toFixed(5)}` +
          (m.location.horizontal_accuracy ? ` ±${m.location.horizontal_accuracy} m` : "") +
          (m.location.live_period ? " (live)" : "") + (m.venue ? `\n${m.venue.title}` : ""));
      }
      if (m.contact) li.append(`📞 ${m.contact.first_name} ${m.contact.phone_number}`);
      if (m.document) li.append(`📄 ${m.document.file_name || "document"}`);
      if (m.text) li.append(renderEntities(m.text, m.entities));
      if (m.inline_keyboard && m.inline_keyboard.length) {
        const kb = document.createElement("div"); kb.className = "inline-keyboard";
        for (const row of m.inline_keyboard) {
          const r = document.createElement("div"); r.className = "row";
          for (const b of row) {
            const btn = document.createElement("button"); btn.type = "button";
            btn.textContent = b.text + (b.url ? " ↗" : b.web_app ? " ⧉" : "");
            btn.onclick = () => this.press(b.text, m.message_id);
            r.append(btn);
          }
          kb.append(r);
        }
        li.append(kb);
      }
      const meta = document.createElement("span"); meta.className = "meta";
      meta.textContent = (m.edited ? "edited " : "") +
        new Date(m.date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      li.append(meta);
      list.append(li);
    }
    list.scrollTop = list.scrollHeight;
    const rk = this.q(".reply-keyboard");
    rk.replaceChildren();
    for (const row of (chat.reply_keyboard && chat.reply_keyboard.keyboard) || []) {
      const r = document.createElement("div"); r.className = "row";
      for (const raw of row) {
        const b = typeof raw === "string" ? { text: raw } : raw;
        const btn = document.createElement("button"); btn.type = "button"; btn.textContent = b.text;
        btn.onclick = () => this.pressReply(b);
        r.append(btn);
      }
      rk.append(r);
    }
    const cmds = this.q(".commands");
    cmds.replaceChildren();
    for (const c of chat.commands) {
      const btn = document.createElement("button"); btn.type = "button";
      btn.textContent = `/${c.command} — ${c.description}`;
      btn.onclick = () => { cmds.hidden = true; this.sendText("/" + c.command); };
      cmds.append(btn);
    }
    const alert = this.q(".alert");
    const answer = chat.answers[0];
    const fresh = this.answerCount !== undefined && chat.answer_count > this.answerCount;
    this.answerCount = chat.answer_count;
    if (fresh && answer && answer.text) {
      alert.textContent = answer.text; alert.hidden = false;
      clearTimeout(this.alertTimer);
      this.alertTimer = setTimeout(() => { alert.hidden = true; }, 3000);
    }
  }
}

async function main() {
  state = await api("state");
  const personSel = document.getElementById("person");
  const botSel = document.getElementById("bot");
  for (const p of state.people) personSel.add(new Option(`${p.first_name} (${p.id})`, p.id));
  for (const b of state.bots) botSel.add(new Option("@" + b.username, b.username));
  const wanted = new URLSearchParams(location.search).get("user");
  if (wanted) personSel.value = wanted;
  const open = () => {
    if (!personSel.value) return;
    document.getElementById("panes").replaceChildren();
    new Pane(Number(personSel.value), botSel.value);
  };
  personSel.onchange = open; botSel.onchange = open;
  document.getElementById("add-pane").onclick = () => {
    if (personSel.value) new Pane(Number(personSel.value), botSel.value);
  };
  open();
}
main();
