// Scan-to-login page: opens a login session, shows its QR code, polls the
// session until a channel's app confirms it, then shows the holder's
// masked name. The poll secret stays in this page's memory: whoever sees
// the QR code (the session id) cannot read the assertion with it.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const status = (text, state) => { $("status").textContent = text; $("status").dataset.state = state; };
  let timer = null;

  async function problem(res) {
    try { return await res.json(); } catch (e) { return { code: "http_" + res.status }; }
  }

  async function start() {
    clearTimeout(timer);
    $("again").hidden = true;
    status("正在生成二维码…", "loading");
    const res = await fetch("/v1/ecard/login-sessions", { method: "POST" });
    if (res.status !== 201) {
      const p = await problem(res);
      status("无法生成二维码 (" + p.code + ")", "error");
      $("again").hidden = false;
      return;
    }
    const s = await res.json();
    $("qr").src = s.qr_image;
    $("qr").dataset.qrText = s.qr_text;
    $("session").textContent = s.session_id;
    $("expires").textContent = "expires " + s.expires_at;
    status("等待扫码确认… waiting for confirmation", "pending");
    poll(s);
  }

  async function poll(s) {
    let res;
    try {
      res = await fetch("/v1/ecard/login-sessions/" + encodeURIComponent(s.session_id),
        { headers: { "X-Login-Poll-Secret": s.poll_secret }, cache: "no-store" });
    } catch (e) {
      timer = setTimeout(() => poll(s), 2000); // the network blinked: try again
      return;
    }
    if (res.status === 200) {
      const b = await res.json();
      if (b.status === "confirmed") {
        window.cardledgerAssertion = b.assertion; // for the site's own login
        $("qr").hidden = true;
        status("logged in as " + b.holder.name + " (" + b.holder.channel + ")", "confirmed");
        return;
      }
      timer = setTimeout(() => poll(s), 1000);
      return;
    }
    const p = await problem(res);
    status(p.code === "login_session_expired" ? "二维码已过期 (expired)" : "登录失败 (" + p.code + ")", "error");
    $("qr").hidden = true;
    $("again").hidden = false;
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("again").addEventListener("click", start);
    start();
  });
})();
