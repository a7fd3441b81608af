"""The operator page: registered devices, "scan as admin" and "unbind" buttons.

Plain server-rendered HTML whose buttons are ordinary forms posting to the control endpoints, so
it works without JavaScript; a few lines of inline script refresh the table every two seconds
(paused while the operator is choosing an enterprise). Labels are bilingual on purpose: it is a
test tool shared by Chinese- and English-speaking developers. The SecretNo is never shown.
"""

from __future__ import annotations

import time
from html import escape

from installer_app.provider.emulator.control import device_row
from installer_app.provider.emulator.records import TEST_CORPS
from installer_app.provider.emulator.state import EmulatorState

_STYLE = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em} table{border-collapse:collapse;width:100%} small{color:#666}
th,td{border-bottom:1px solid #ddd;padding:.4em .6em;text-align:left;vertical-align:middle}
th{background:#f4f6f8} form{display:inline;margin:0} code{font-size:.9em}
button{padding:.3em .8em;cursor:pointer} .bound{color:#0a7d32;font-weight:600}
.wait{color:#a15c00} .note{background:#eef6ff;padding:.5em;border-radius:4px}
.info{display:grid;grid-template-columns:max-content auto;gap:.2em 1em;margin-bottom:1em}
"""

_SCRIPT = """
(function(){
  var body=document.getElementById('rows');
  setInterval(function(){
    if(body.contains(document.activeElement)&&document.activeElement.tagName==='SELECT')return;
    fetch('/?part=rows',{cache:'no-store'}).then(function(r){return r.text();})
      .then(function(t){body.innerHTML=t;}).catch(function(){});
  },2000);
})();
"""


def _corp_options(selected: str | None) -> str:
    options = []
    for corpid, name in TEST_CORPS.items():
        mark = " selected" if corpid == selected else ""
        options.append(f'<option value="{escape(corpid)}"{mark}>{escape(name)}</option>')
    return "".join(options)


def render_rows(state: EmulatorState) -> str:
    rows = []
    now = time.time()
    for device in state.all_devices():
        row = device_row(state, device)
        sn = escape(device.device_sn)
        if device.bound:
            corp = (
                f'<span class="bound">{escape(device.corp_name or "")}</span>'
                f"<br><small>{escape(device.corpid or '')}</small>"
            )
            action = (
                '<form method="post" action="/_emulator/unbind">'
                f'<input type="hidden" name="device_sn" value="{sn}">'
                "<button>解绑 / Unbind</button></form>"
            )
        else:
            corp = '<span class="wait">未绑定 / not bound</span>'
            action = (
                '<form method="post" action="/_emulator/bind">'
                f'<input type="hidden" name="device_sn" value="{sn}">'
                f'<select name="corpid" aria-label="企业 / Enterprise">{_corp_options(None)}'
                "</select> "
                "<button>扫码绑定 / Scan as admin</button></form>"
            )
        if row["app_installed"]:
            app = f'<span class="bound">已安装 / installed</span> <small>{row["agentid"]}</small>'
        elif row["install_at"] is not None:
            left = max(0.0, float(row["install_at"]) - now)
            app = f'<span class="wait">安装中 / installing… {left:.0f} s</span>'
        else:
            app = "—"
        rows.append(
            f'<tr data-sn="{sn}"><td><code>{sn}</code></td><td>{escape(device.model_id)}</td>'
            f"<td>{escape(device.source)}</td><td>{corp}</td><td>{app}</td><td>{action}</td></tr>"
        )
    if not rows:
        rows.append(
            '<tr><td colspan="6"><small>还没有注册的设备 / No device registered yet.</small>'
            "</td></tr>"
        )
    return "\n".join(rows)


def render_page(state: EmulatorState, base_url: str, note: str | None = None) -> str:
    stats = state.stats()
    note_html = f'<p class="note">{escape(note)}</p>' if note else ""
    models = ", ".join(escape(m) for m in state.model_ids)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>服务商接口模拟器 / Provider emulator</title>
<style>{_STYLE}</style>
<noscript><meta http-equiv="refresh" content="5"></noscript>
</head><body>
<h1>企业微信服务商接口模拟器 / WeCom provider emulator</h1>
<div class="info">
<span>接口地址 / Base URL</span><code>{escape(base_url)}</code>
<span>服务商 CorpID / Provider corpid</span><code>{escape(state.corpid)}</code>
<span>型号 / Model ids</span><code>{models}</code>
<span>令牌获取次数 / Token fetches</span><span>{stats["token_fetches"]}</span>
</div>
{note_html}
<table><thead><tr><th>设备SN / SN</th><th>型号 / Model</th><th>来源 / Source</th>
<th>绑定企业 / Bound enterprise</th><th>应用 / Companion app</th><th>操作 / Action</th></tr></thead>
<tbody id="rows">
{render_rows(state)}
</tbody></table>
<h2 style="font-size:1.05em">扫描二维码链接 / Scan a QR link</h2>
<form method="post" action="/_emulator/scan">
<input name="qr_url" size="70" placeholder="https://open.work.weixin.qq.com/connect/hardware?...">
<select name="corpid" aria-label="企业 / Enterprise">{_corp_options(None)}</select>
<button>扫码绑定 / Scan as admin</button></form>
<p><small>控制接口 / Control API: <code>/_emulator/</code> — 仅限本机 / loopback only.</small></p>
<script>{_SCRIPT}</script>
</body></html>
"""
