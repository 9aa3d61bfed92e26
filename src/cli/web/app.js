// emotop serve: the page. Everything it shows comes from emotop over one
// WebSocket: the session log's own records (session, window, speech, event,
// end) plus serve's own "hello", "stats", "status" and "error" messages
// (man emotop, SERVE). Strings from the server, a log or a file name only
// ever reach the page as text (textContent, canvas fillText), never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const TIMELINE_MAX = 120, TIMELINE_MIN = 30; // seconds shown

const state = {
  ws: null, labels: [], colors: {}, bars: {}, limits: {},
  rate: 0, windows: [], speech: [], trail: [],
  producing: false, paused: false, recording: false,
  mic: null, sent: [], latencies: [], latencyWindows: [], lastWindow: null,
  playback: null,
};
// read by the tests (and handy in the console)
window.emotop = state;

// ---- the view -------------------------------------------------------------

function say(text, error) {
  const m = $('message');
  m.textContent = text;
  m.classList.toggle('error', !!error);
}

function color(label, i) {
  return state.colors[label] || ['#7f7f7f', '#bcbd22', '#8c564b', '#e377c2'][i % 4];
}

function setLabels(labels) {
  if (JSON.stringify(labels) === JSON.stringify(state.labels)) return;
  state.labels = labels.slice();
  const bars = $('bars');
  bars.replaceChildren();
  state.bars = {};
  labels.forEach((label, i) => {
    const row = document.createElement('div');
    row.className = 'bar';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = label;
    const track = document.createElement('div');
    track.className = 'track';
    const fill = document.createElement('div');
    fill.className = 'fill';
    fill.style.background = color(label, i);
    track.append(fill);
    const pct = document.createElement('span');
    pct.className = 'pct';
    pct.textContent = '—';
    row.append(name, track, pct);
    row.dataset.label = label;
    bars.append(row);
    state.bars[label] = {row, fill, pct};
  });
}

function showProbs(probs, label, confidence, uncertain) {
  for (const [l, b] of Object.entries(state.bars)) {
    const p = Number(probs[l]) || 0;
    b.fill.style.width = (100 * p).toFixed(1) + '%';
    b.pct.textContent = (100 * p).toFixed(1) + '%';
    b.row.dataset.p = p.toFixed(6);
    b.row.classList.toggle('lead', l === label);
  }
  $('top-label').textContent = label || '—';
  $('top-conf').textContent = confidence != null ? (100 * confidence).toFixed(0) + '%' : '';
  $('uncertain').hidden = !uncertain;
}

function resetView() {
  state.windows = [];
  state.speech = [];
  state.trail = [];
  state.latencies = [];
  state.latencyWindows = [];
  state.sent = [];
  showProbs({}, null, null, false);
  $('valence').textContent = '—';
  $('arousal').textContent = '—';
  drawVA();
  drawTimeline();
}

function argmax(probs) {
  let best = null;
  for (const l of state.labels) if (best === null || probs[l] > probs[best]) best = l;
  return best;
}

function onWindow(w) {
  const probs = w.smoothed || w.probs || {};
  const top = argmax(probs);
  showProbs(probs, top, probs[top], w.uncertain);
  state.windows.push({t0: w.t0, t1: w.t1, label: top, p: probs[top], valence: w.valence});
  if (state.windows.length > 4000) state.windows.splice(0, 1000);
  if (typeof w.valence === 'number') {
    $('valence').textContent = (w.valence >= 0 ? '+' : '') + w.valence.toFixed(2);
    $('arousal').textContent = (w.arousal >= 0 ? '+' : '') + w.arousal.toFixed(2);
    state.trail.push({v: w.valence, a: w.arousal, label: top});
    if (state.trail.length > 24) state.trail.shift();
  }
  state.lastWindow = w;
  if (state.producing && !state.playback) notePageLatency(w.t1, w.index);
  drawVA();
  drawTimeline();
}

// From a sample entering the worklet to its window's record arriving here.
function notePageLatency(t1, index) {
  const sample = t1 * state.rate;
  const hit = state.sent.find((s) => s.end >= sample);
  if (!hit) return;
  const entered = hit.time - (hit.end - sample) / state.rate * 1000;
  state.latencies.push(performance.now() - entered);
  state.latencyWindows.push(index);
  if (state.latencies.length > 2000) {
    state.latencies.shift();
    state.latencyWindows.shift();
  }
  while (state.sent.length > 1 && state.sent[1].end < sample) state.sent.shift();
  const q = quantiles(state.latencies);
  $('s-page-latency').textContent = `${q.p50.toFixed(0)} / ${q.p95.toFixed(0)} ms`;
}

function quantiles(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return {p50: at(0.5), p95: at(0.95)};
}

function drawVA() {
  const c = $('va');
  const g = c.getContext('2d');
  const W = c.width, H = c.height, R = W / 2 - 14;
  g.clearRect(0, 0, W, H);
  g.strokeStyle = '#262c35';
  g.lineWidth = 1;
  g.beginPath();
  g.arc(W / 2, H / 2, R, 0, 2 * Math.PI);
  g.moveTo(W / 2 - R, H / 2); g.lineTo(W / 2 + R, H / 2);
  g.moveTo(W / 2, H / 2 - R); g.lineTo(W / 2, H / 2 + R);
  g.stroke();
  g.fillStyle = '#8a93a0';
  g.font = '11px system-ui, sans-serif';
  g.textAlign = 'center';
  g.fillText('aroused', W / 2, 10);
  g.fillText('calm', W / 2, H - 2);
  g.textAlign = 'left';
  g.fillText('−', 2, H / 2 - 4);
  g.textAlign = 'right';
  g.fillText('+', W - 2, H / 2 - 4);
  state.trail.forEach((pt, i) => {
    const last = i === state.trail.length - 1;
    g.globalAlpha = last ? 1 : 0.15 + 0.6 * i / state.trail.length;
    g.fillStyle = color(pt.label, state.labels.indexOf(pt.label));
    g.beginPath();
    g.arc(W / 2 + pt.v * R, H / 2 - pt.a * R, last ? 8 : 4, 0, 2 * Math.PI);
    g.fill();
  });
  g.globalAlpha = 1;
}

function drawTimeline() {
  const c = $('timeline');
  const g = c.getContext('2d');
  const W = c.width, H = c.height, top = 8, bottom = H - 22, mid = (top + bottom) / 2;
  g.clearRect(0, 0, W, H);
  const ws = state.windows;
  const end = ws.length ? ws[ws.length - 1].t1 : 0;
  const span = Math.min(TIMELINE_MAX, Math.max(TIMELINE_MIN, Math.ceil(end / 10) * 10));
  const start = Math.max(0, end - span);
  const x = (t) => (t - start) / span * W;
  g.strokeStyle = '#262c35';
  g.beginPath(); g.moveTo(0, mid); g.lineTo(W, mid); g.stroke();
  g.fillStyle = '#8a93a0';
  g.font = '11px system-ui, sans-serif';
  g.textAlign = 'center';
  const step = span / 6;
  for (let t = Math.ceil(start / step) * step; t <= start + span; t += step)
    g.fillText(fmtTime(t), Math.min(W - 16, Math.max(16, x(t))), H - 6);
  for (const s of state.speech) {
    if (s.t1 < start) continue;
    g.fillStyle = 'rgba(44,160,44,.35)';
    g.fillRect(x(s.t0), bottom + 2, Math.max(1, x(s.t1) - x(s.t0)), 3);
  }
  for (const w of ws) {
    if (w.t1 < start) continue;
    g.fillStyle = color(w.label, state.labels.indexOf(w.label));
    const h = (bottom - top) * (w.p || 0);
    g.globalAlpha = 0.85;
    g.fillRect(x(w.t0), bottom - h, Math.max(1, x(w.t1) - x(w.t0) - 1), h);
  }
  g.globalAlpha = 1;
  g.strokeStyle = '#e6e9ee';
  g.lineWidth = 1.5;
  g.beginPath();
  let first = true;
  for (const w of ws) {
    if (w.t1 < start || typeof w.valence !== 'number') continue;
    const px = x((w.t0 + w.t1) / 2), py = mid - w.valence * (bottom - top) / 2;
    if (first) g.moveTo(px, py); else g.lineTo(px, py);
    first = false;
  }
  g.stroke();
}

function fmtTime(t) {
  const m = Math.floor(t / 60), s = Math.round(t % 60);
  return m ? `${m}:${String(s).padStart(2, '0')}` : `${s}s`;
}

function showStats(s) {
  state.sentDropped = s.sent_dropped;
  state.clients = s.clients;
  const level = Math.max(0, Math.min(1, (s.level_db + 60) / 60));
  $('level').style.width = (100 * level).toFixed(0) + '%';
  $('level-db').textContent = s.level_db > -119 ? `${s.level_db.toFixed(0)} dBFS` : '— dBFS';
  const sp = $('speech');
  sp.textContent = s.speech ? 'speech' : 'silence';
  sp.classList.toggle('on', !!s.speech);
  $('s-latency').textContent = s.windows ?
    `${(1000 * s.latency_p50).toFixed(0)} / ${(1000 * s.latency_p95).toFixed(0)} ms` : '—';
  $('s-rtf').textContent = s.audio_s > 0 ? s.rtf.toFixed(3) : '—';
  $('s-audio').textContent = `${s.audio_s.toFixed(1)} s (${s.speech_s.toFixed(1)} s speech)`;
  $('s-windows').textContent = s.windows;
  $('s-dropped').textContent = `${s.dropped} / ${s.skipped}`;
  $('s-lost').textContent = `${s.events_lost} / ${s.sent_dropped} to this page`;
  $('s-clients').textContent = s.clients;
  setPaused(s.paused);
  setRecording(s.recording);
}

function setPaused(p) {
  state.paused = p;
  $('pause').textContent = p ? '▶ Resume' : '❚❚ Pause';
  $('pause').classList.toggle('active', p);
}

function setRecording(r) {
  state.recording = r;
  $('record').textContent = r ? '● Stop recording' : '● Record';
  $('record').classList.toggle('active', r);
}

function showSource(src) {
  if (!src) {
    $('source').textContent = 'no source yet: use your microphone, or analyse a file';
    return;
  }
  $('source').textContent = `${src.kind} · ${src.name} · ${src.rate} Hz` +
    (state.model ? ` · model ${state.model}` : '');
}

// ---- the connection ---------------------------------------------------------

function send(obj) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(obj));
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}/ws`, 'emotop');
  ws.binaryType = 'arraybuffer';
  state.ws = ws;
  ws.onopen = () => {
    $('conn-dot').classList.add('on');
    $('conn').textContent = 'connected';
  };
  ws.onclose = (e) => {
    $('conn-dot').classList.remove('on');
    $('conn').textContent = 'offline';
    stopMic(false);
    if (e.reason) say(e.reason, true);
    setTimeout(connect, 2000);
  };
  ws.onmessage = (e) => {
    if (typeof e.data !== 'string') return;
    let rec;
    try { rec = JSON.parse(e.data); } catch { return; }
    if (state.playback && ['session', 'window', 'speech', 'event', 'end'].includes(rec.type)) return;
    handle(rec);
  };
}

function handle(rec) {
  switch (rec.type) {
  case 'hello':
    state.colors = rec.colors || {};
    state.limits = rec.limits || {};
    state.model = rec.model;
    setLabels(rec.labels || []);
    showSource(rec.source);
    $('mic').disabled = !rec.browser_source;
    if (!rec.browser_source) $('mic').title = 'this emotop analyses its own ' + (rec.source ? rec.source.kind : 'source');
    break;
  case 'session':
    setLabels(rec.labels || []);
    state.rate = rec.source.rate;
    resetView();
    showSource(rec.source);
    break;
  case 'window': onWindow(rec); break;
  case 'speech':
    state.speech.push({t0: rec.t0, t1: rec.t1});
    if (state.speech.length > 2000) state.speech.splice(0, 500);
    break;
  case 'event':
    if (rec.event === 'pause' || rec.event === 'resume') setPaused(rec.event === 'pause');
    else say(`${rec.event} at ${rec.t.toFixed(1)} s${rec.detail ? ': ' + rec.detail : ''}`,
             /error/.test(rec.event));
    break;
  case 'end':
    say(`session ended: ${rec.reason} (${rec.windows} windows)`);
    showStats({audio_s: rec.duration, speech_s: rec.speech_seconds, windows: rec.windows,
               dropped: rec.dropped_samples, skipped: rec.skipped_samples,
               events_lost: rec.events_lost, rtf: rec.rtf, latency_p50: rec.latency_p50,
               latency_p95: rec.latency_p95, level_db: -120, speech: false,
               paused: false, recording: false, sent_dropped: state.sentDropped || 0,
               clients: state.clients || 0});
    if (state.producing) stopMic(false);
    break;
  case 'stats': if (!state.playback) showStats(rec); break;
  case 'status': if (rec.message) say(rec.message); break;
  case 'error': say(rec.message, true); break;
  }
}

// ---- the browser's microphone ---------------------------------------------

async function startMic() {
  if (state.mic) return;
  $('mic').disabled = true;
  try {
    // processing that changes the voice the model hears is switched off
    const stream = await navigator.mediaDevices.getUserMedia({audio: {
      echoCancellation: false, noiseSuppression: false, autoGainControl: false,
      channelCount: 1}});
    const ctx = new AudioContext();
    await ctx.audioWorklet.addModule('worklet.js');
    const source = ctx.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(ctx, 'emotop-capture',
                                      {numberOfInputs: 1, numberOfOutputs: 1});
    const mute = ctx.createGain();
    mute.gain.value = 0;
    source.connect(node).connect(mute).connect(ctx.destination);
    const track = stream.getAudioTracks()[0];
    const limit = Number(params.get('stop_after')) || 0; // seconds (tests)
    state.mic = {stream, ctx, node};
    state.rate = ctx.sampleRate;
    state.producing = true;
    state.sent = [];
    send({type: 'start', rate: ctx.sampleRate, channels: 1, device: track.label || 'microphone'});
    node.port.onmessage = (e) => {
      if (!state.producing) return;
      let {samples, end} = e.data;
      if (limit && end > limit * ctx.sampleRate) {
        const keep = samples.length - (end - Math.floor(limit * ctx.sampleRate));
        if (keep > 0) state.ws.send(samples.subarray(0, keep));
        stopMic(true);
        return;
      }
      state.ws.send(samples.buffer);
      state.sent.push({end, time: performance.now()});
      if (state.sent.length > 20000) state.sent.splice(0, 5000);
    };
    $('stop').disabled = false;
    say(`streaming ${track.label || 'the microphone'} at ${ctx.sampleRate} Hz`);
  } catch (err) {
    say(`microphone: ${err.message || err}`, true);
    $('mic').disabled = false;
    state.mic = null;
  }
}

function stopMic(tell) {
  if (tell && state.producing) send({type: 'stop'});
  state.producing = false;
  if (state.mic) {
    state.mic.stream.getTracks().forEach((t) => t.stop());
    state.mic.ctx.close();
    state.mic = null;
  }
  $('stop').disabled = true;
  $('mic').disabled = false;
}

// ---- a whole file -------------------------------------------------------------

async function analyseFile(file) {
  if (state.limits.max_upload && file.size > state.limits.max_upload) {
    say(`${file.name} is larger than this server accepts (${(state.limits.max_upload / 1048576).toFixed(0)} MB)`, true);
    return;
  }
  say(`analysing ${file.name}…`);
  let text;
  try {
    const r = await fetch('api/analyze?name=' + encodeURIComponent(file.name),
                          {method: 'POST', body: file, headers: {'Content-Type': 'application/octet-stream'}});
    text = await r.text();
    if (!r.ok) {
      let msg = text;
      try { msg = JSON.parse(text.split('\n')[0]).error || text; } catch { /* plain text */ }
      say(`${file.name}: ${msg}`, true);
      return;
    }
  } catch (err) {
    say(`upload failed: ${err.message || err}`, true);
    return;
  }
  const recs = text.trim().split('\n').map((l) => JSON.parse(l));
  const windows = recs.filter((r) => r.type === 'window');
  const overall = recs.find((r) => r.type === 'file');
  state.upload = {text, windows, overall};
  $('upload-panel').hidden = false;
  $('upload-name').textContent = file.name;
  const o = $('upload-overall');
  o.replaceChildren();
  if (overall && overall.label) {
    const b = document.createElement('b');
    b.textContent = overall.label;
    o.append(b, ` ${(100 * overall.confidence).toFixed(0)}% over ${overall.speech_seconds.toFixed(1)} s of speech in ${overall.duration.toFixed(1)} s, ${overall.windows} windows` +
      (typeof overall.valence === 'number' ? ` · valence ${overall.valence.toFixed(2)} · arousal ${overall.arousal.toFixed(2)}` : ''));
  } else {
    o.textContent = 'no speech found';
  }
  drawUpload(windows);
  const link = $('upload-download');
  if (link.href.startsWith('blob:')) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([text], {type: 'application/x-ndjson'}));
  link.download = file.name.replace(/\.[^.]*$/, '') + '.jsonl';
  say(`${file.name}: ${windows.length} windows`);
}

function drawUpload(windows) {
  const c = $('upload-chart');
  const g = c.getContext('2d');
  const W = c.width, H = c.height - 18;
  g.clearRect(0, 0, c.width, c.height);
  const end = windows.length ? windows[windows.length - 1].t1 : 1;
  const x = (t) => t / end * W;
  for (const w of windows) {
    let y = H;
    state.labels.forEach((l, i) => {
      const h = H * (w.probs[l] || 0);
      g.fillStyle = color(l, i);
      g.fillRect(x(w.t0), y - h, Math.max(1, x(w.t1) - x(w.t0)), h);
      y -= h;
    });
  }
  g.fillStyle = '#8a93a0';
  g.font = '11px system-ui, sans-serif';
  g.textAlign = 'center';
  for (let k = 0; k <= 6; k++) g.fillText(fmtTime(end * k / 6), Math.min(W - 14, Math.max(14, x(end * k / 6))), c.height - 4);
  const legend = $('upload-legend');
  legend.replaceChildren(...state.labels.map((l, i) => {
    const s = document.createElement('span');
    s.textContent = l;
    s.style.setProperty('--c', color(l, i));
    return s;
  }));
}

// ---- a session log, played back -------------------------------------------------

async function openLog(file) {
  const text = await file.text();
  const recs = [];
  let bad = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try { recs.push(JSON.parse(line)); } catch { bad++; }
  }
  const head = recs.find((r) => r.type === 'session');
  if (!head) { say(`${file.name}: not an emotop session log (no session record)`, true); return; }
  stopPlayback();
  state.playback = {recs, i: 0, t0: performance.now(), speed: 4, name: file.name};
  handle(head);
  say(`playing back ${file.name} at 4× (Esc returns to live)` + (bad ? `; ${bad} unreadable line(s) skipped` : ''));
  state.playback.timer = setInterval(stepPlayback, 50);
  try {
    const r = await fetch('api/report', {method: 'POST', body: text, headers: {'Content-Type': 'application/x-ndjson'}});
    if (!r.ok) throw new Error(await r.text());
    const svg = await r.blob();
    const img = $('report');
    if (img.src.startsWith('blob:')) URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(svg);
    $('report-panel').hidden = false;
    $('report-name').textContent = file.name;
  } catch (err) {
    say(`report: ${err.message || err}`, true);
  }
}

function stepPlayback() {
  const pb = state.playback;
  if (!pb) return;
  const now = (performance.now() - pb.t0) / 1000 * pb.speed;
  while (pb.i < pb.recs.length) {
    const r = pb.recs[pb.i];
    const t = r.type === 'window' ? r.t1 : r.type === 'speech' ? r.t1 : r.type === 'event' ? r.t : 0;
    if (t > now) break;
    if (r.type !== 'session' && r.type !== 'stats') handle(r);
    pb.i++;
  }
  if (pb.i >= pb.recs.length) {
    clearInterval(pb.timer);
    say(`played back ${pb.name} (Esc returns to live)`);
  }
}

function stopPlayback() {
  if (!state.playback) return;
  clearInterval(state.playback.timer);
  state.playback = null;
  resetView();
  say('live');
}

// ---- controls -----------------------------------------------------------------

$('mic').addEventListener('click', startMic);
$('stop').addEventListener('click', () => stopMic(true));
$('pause').addEventListener('click', () => send({type: 'pause'}));
$('record').addEventListener('click', () => send({type: 'record'}));
$('upload').addEventListener('change', (e) => { if (e.target.files[0]) analyseFile(e.target.files[0]); e.target.value = ''; });
$('openlog').addEventListener('change', (e) => { if (e.target.files[0]) openLog(e.target.files[0]); e.target.value = ''; });
document.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === ' ') { e.preventDefault(); send({type: 'pause'}); }
  else if (e.key === 'r') send({type: 'record'});
  else if (e.key === 'Escape') stopPlayback();
});

resetView();
connect();
