// The studio's page: goals in, every round of the reasoning as a 3-D player, the user's own refinements, a timeline
// of the goals' answers, downloads. Everything it loads comes from this server (three.js is vendored).
import * as THREE from 'three';
import { OrbitControls } from '/static/vendor/OrbitControls.js';

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
};

// ---- the server -----------------------------------------------------------------------------------------------
async function api(path, body) {
  const init = body === undefined ? {} : {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new Error(`the studio server did not answer (${err.message})`);
  }
  const data = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

// ---- drawing: one WebGL renderer draws every player, each copied into its own 2-D canvas -------------------------
let renderer = null;
const players = new Set();
let skeleton = null;  // from /api/health: chains, colours, joint names, fps

function makeRenderer() {
  try {
    renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    renderer.setPixelRatio(1);
    renderer.setClearColor(0xf4f4f1, 1);
    renderer.setScissorTest(true);
  } catch (err) {
    renderer = null;
    setStatus(`This browser offers no WebGL, so motions cannot be drawn here (${err.message}); downloads still work.`, true);
  }
}

const boneGeometry = new THREE.CylinderGeometry(0.022, 0.022, 1, 10).translate(0, 0.5, 0);
const jointGeometry = new THREE.SphereGeometry(0.028, 12, 8);
const headGeometry = new THREE.SphereGeometry(0.085, 18, 12);
const UP = new THREE.Vector3(0, 1, 0);

class Player {
  // A 3-D skeleton player: orbit (drag), zoom (wheel), play/pause, scrub; a floor grid and the root's trajectory.
  // clips: [{joints: T x J x 3 metres, label}] played one after the other, each moved on the floor to start where the
  // one before ended (a timeline), or a single clip (a round).
  constructor(container, { follow = false } = {}) {
    this.follow = follow;
    this.canvas = el('canvas');
    this.button = el('button', { type: 'button', className: 'plain play', textContent: 'Pause' });
    this.slider = el('input', { type: 'range', min: 0, max: 0, step: 1, value: 0 });
    this.time = el('span', { className: 'time', textContent: '0.00 s' });
    this.caption = el('div', { className: 'caption' });
    this.root = el('div', { className: 'player' }, this.canvas,
      el('div', { className: 'transport' }, this.button, this.slider, this.time), this.caption);
    container.append(this.root);
    this.ctx = this.canvas.getContext('2d');
    this.scene = new THREE.Scene();
    this.camera = new THREE.PerspectiveCamera(38, 4 / 3, 0.05, 200);
    this.controls = new OrbitControls(this.camera, this.canvas);
    this.controls.enableDamping = false;
    this.controls.addEventListener('change', () => { this.dirty = true; });
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x8a8a80, 2.2));
    const sun = new THREE.DirectionalLight(0xffffff, 1.6);
    sun.position.set(2, 5, 3);
    this.scene.add(sun);
    this.figure = new THREE.Group();
    this.scene.add(this.figure);
    this.bones = [];
    this.joints = [];
    this.playing = true;
    this.frame = 0;
    this.clock = 0;
    this.frames = 0;
    this.dirty = true;
    this.button.addEventListener('click', () => this.setPlaying(!this.playing));
    this.slider.addEventListener('input', () => { this.frame = Number(this.slider.value); this.clock = 0; this.show(); });
    this.onclip = null;
    players.add(this);
  }

  setPlaying(on) {
    this.playing = on;
    this.button.textContent = on ? 'Pause' : 'Play';
  }

  buildFigure() {
    if (this.bones.length) return;
    const materials = new Map();
    const material = (colour) => {
      if (!materials.has(colour)) materials.set(colour, new THREE.MeshStandardMaterial({ color: colour, roughness: 0.6 }));
      return materials.get(colour);
    };
    skeleton.chains.forEach((chain, c) => {
      for (let i = 1; i < chain.length; i++) {
        const mesh = new THREE.Mesh(boneGeometry, material(skeleton.colours[c]));
        this.figure.add(mesh);
        this.bones.push({ mesh, parent: chain[i - 1], child: chain[i] });
      }
    });
    const head = skeleton.joints.indexOf('head');
    for (let j = 0; j < skeleton.joints.length; j++) {
      const mesh = new THREE.Mesh(j === head ? headGeometry : jointGeometry, material(j === head ? '#777777' : '#333333'));
      this.figure.add(mesh);
      this.joints.push(mesh);
    }
  }

  setClips(clips) {
    this.buildFigure();
    const J = skeleton.joints.length;
    const total = clips.reduce((n, c) => n + c.joints.length, 0);
    this.poses = new Float32Array(total * J * 3);
    this.clipOf = new Int32Array(total);
    this.starts = [];
    this.labels = clips.map((c) => c.label || '');
    let f = 0, dx = 0, dz = 0, lastX = null, lastZ = null;
    clips.forEach((clip, c) => {
      if (lastX !== null) { dx = lastX - clip.joints[0][0][0]; dz = lastZ - clip.joints[0][0][2]; }
      this.starts.push(f);
      for (const pose of clip.joints) {
        for (let j = 0; j < J; j++) {
          const o = (f * J + j) * 3;
          this.poses[o] = pose[j][0] + dx; this.poses[o + 1] = pose[j][1]; this.poses[o + 2] = pose[j][2] + dz;
        }
        this.clipOf[f] = c;
        f++;
      }
      const end = clip.joints[clip.joints.length - 1][0];
      lastX = end[0] + dx; lastZ = end[2] + dz;
    });
    this.frames = total;
    this.frame = 0;
    this.clock = 0;
    this.slider.max = Math.max(0, total - 1);
    this.buildScene();
    this.show();
  }

  buildScene() {
    for (const old of [this.grid, this.path, this.done]) {
      if (old) { this.scene.remove(old); old.geometry.dispose(); (Array.isArray(old.material) ? old.material : [old.material]).forEach((m) => m.dispose()); }
    }
    const J = skeleton.joints.length, P = this.poses;
    let floor = Infinity, top = -Infinity, minX = Infinity, maxX = -Infinity, minZ = Infinity, maxZ = -Infinity;
    for (let i = 0; i < P.length; i += 3) {
      floor = Math.min(floor, P[i + 1]); top = Math.max(top, P[i + 1]);
      minX = Math.min(minX, P[i]); maxX = Math.max(maxX, P[i]);
      minZ = Math.min(minZ, P[i + 2]); maxZ = Math.max(maxZ, P[i + 2]);
    }
    this.floor = floor;
    const cx = (minX + maxX) / 2, cz = (minZ + maxZ) / 2;
    const extent = Math.max(maxX - minX, maxZ - minZ);
    const size = Math.ceil((extent + (this.follow ? 8 : 3)) / 2) * 2;
    this.grid = new THREE.GridHelper(size, size * 2, 0xa9ada6, 0xcfd2cc);
    this.grid.position.set(Math.round(cx * 2) / 2, floor, Math.round(cz * 2) / 2);
    this.scene.add(this.grid);
    const root = new Float32Array(this.frames * 3);
    for (let f = 0; f < this.frames; f++) {
      root[f * 3] = P[f * J * 3]; root[f * 3 + 1] = floor + 0.004; root[f * 3 + 2] = P[f * J * 3 + 2];
    }
    const geometry = new THREE.BufferGeometry().setAttribute('position', new THREE.BufferAttribute(root, 3));
    this.path = new THREE.Line(geometry, new THREE.LineBasicMaterial({ color: 0xe0b040, transparent: true, opacity: 0.6 }));
    this.done = new THREE.Line(geometry.clone(), new THREE.LineBasicMaterial({ color: 0xc08000 }));
    this.scene.add(this.path, this.done);
    // frame the whole motion (a round) or the figure (a timeline, followed as it moves)
    const height = Math.max(1, top - floor);  // the highest any joint reaches: a jump with raised hands stays in view
    const distance = this.follow ? Math.max(4.2, height * 2) : Math.max(2.6, height * 1.6, extent * 1.1 + 2.0);
    this.target = new THREE.Vector3(this.follow ? P[0] : cx, floor + height * 0.5, this.follow ? P[2] : cz);
    this.controls.target.copy(this.target);
    // from the front-left and a little above, as the package's gif renders (HumanML3D clips start facing +z)
    this.camera.position.copy(this.target).add(new THREE.Vector3(0.55, 0.32, 0.78).normalize().multiplyScalar(distance));
    this.controls.update();
  }

  show() {
    if (!this.frames) return;
    const J = skeleton.joints.length, P = this.poses, o = this.frame * J * 3;
    const at = (j) => new THREE.Vector3(P[o + j * 3], P[o + j * 3 + 1], P[o + j * 3 + 2]);
    for (let j = 0; j < J; j++) this.joints[j].position.copy(at(j));
    for (const bone of this.bones) {
      const a = at(bone.parent), d = at(bone.child).sub(a);
      const length = d.length();
      bone.mesh.position.copy(a);
      bone.mesh.scale.set(1, Math.max(length, 1e-4), 1);
      if (length > 1e-6) bone.mesh.quaternion.setFromUnitVectors(UP, d.divideScalar(length));
    }
    this.done.geometry.setDrawRange(0, this.frame + 1);
    if (this.follow) {  // keep the camera's offset, move it with the root
      const root = at(0);
      const shift = new THREE.Vector3(root.x - this.controls.target.x, 0, root.z - this.controls.target.z);
      this.controls.target.add(shift);
      this.camera.position.add(shift);
      this.controls.update();
    }
    this.slider.value = this.frame;
    this.time.textContent = `${(this.frame / skeleton.fps).toFixed(2)} s`;
    const clip = this.clipOf[this.frame];
    if (clip !== this.shownClip) {
      this.shownClip = clip;
      this.caption.textContent = this.labels[clip];
      if (this.onclip) this.onclip(clip);
    }
    this.dirty = true;
  }

  advance(seconds) {
    if (!this.playing || this.frames < 2) return;
    this.clock += seconds * skeleton.fps;
    const steps = Math.floor(this.clock);
    if (steps < 1) return;
    this.clock -= steps;
    this.frame = (this.frame + steps) % this.frames;
    this.show();
  }

  draw(maxWidth, maxHeight) {
    const width = Math.min(this.canvas.clientWidth, maxWidth), height = Math.min(this.canvas.clientHeight, maxHeight);
    if (width < 2 || height < 2 || !this.frames) return;
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width; this.canvas.height = height;
    }
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    renderer.setViewport(0, 0, width, height);
    renderer.setScissor(0, 0, width, height);
    renderer.render(this.scene, this.camera);
    const full = renderer.domElement.height;
    this.ctx.drawImage(renderer.domElement, 0, full - height, width, height, 0, 0, width, height);
    this.dirty = false;
  }

  dispose() {
    players.delete(this);
    this.controls.dispose();
    for (const old of [this.grid, this.path, this.done]) if (old) { old.geometry.dispose(); old.material.dispose(); }
    this.root.remove();
  }
}

let last = performance.now();
function tick(now) {
  const seconds = Math.min(0.25, (now - last) / 1000);
  last = now;
  if (renderer) {
    let width = 1, height = 1;
    for (const p of players) { width = Math.max(width, p.canvas.clientWidth); height = Math.max(height, p.canvas.clientHeight); }
    const size = renderer.getSize(new THREE.Vector2());
    if (size.x < width || size.y < height) renderer.setSize(Math.max(size.x, width), Math.max(size.y, height), false);
    const full = renderer.getSize(new THREE.Vector2());
    for (const p of players) {
      p.advance(seconds);
      if (p.dirty || p.canvas.width !== Math.min(p.canvas.clientWidth, full.x)) p.draw(full.x, full.y);
    }
  }
  requestAnimationFrame(tick);
}

// ---- the page's state ------------------------------------------------------------------------------------------
const timeline = [];  // {goal, state: 'waiting'|'done'|'error', result, error, li}
let shown = null;     // the timeline entry whose rounds are shown
let roundPlayers = [];
let timelinePlayer = null;
let formats = ['bvh', 'npy', 'gif'];

function setStatus(text, error = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
}

// the round a goal's answer plays in the timeline: the user's latest refinement, else the model's answer
function playedRound(result) {
  const user = result.rounds.filter((r) => r.source === 'user' && r.joints);
  if (user.length) return user[user.length - 1];
  const answer = result.answer_round && result.rounds[result.answer_round - 1];
  return answer && answer.joints ? answer : null;
}

function renderTimeline() {
  const list = $('timeline');
  list.replaceChildren();
  timeline.forEach((entry, i) => {
    const state = entry.state === 'waiting' ? 'generating…'
      : entry.state === 'error' ? entry.error : `${entry.result.rounds.length} round${entry.result.rounds.length === 1 ? '' : 's'}`;
    const remove = el('button', { type: 'button', title: 'remove from the timeline', textContent: '×' });
    remove.addEventListener('click', (event) => {
      event.stopPropagation();
      timeline.splice(timeline.indexOf(entry), 1);
      if (shown === entry) showResult(null);
      renderTimeline();
      updateTimelinePlayer();
    });
    const li = el('li', { className: entry.state, title: entry.state === 'error' ? `${entry.goal}\n${entry.error}` : entry.goal },
      el('span', { className: 'n', textContent: `${i + 1}.` }), el('span', { className: 'goal', textContent: entry.goal }),
      el('span', { className: 'state', textContent: state }), remove);
    li.classList.toggle('selected', entry === shown);
    li.addEventListener('click', () => { if (entry.result) showResult(entry); });
    entry.li = li;
    list.append(li);
  });
}

function updateTimelinePlayer() {
  const clips = [], entries = [];
  for (const entry of timeline) {
    const round = entry.result && playedRound(entry.result);
    if (!round) continue;
    clips.push({ joints: round.joints, label: `${entries.length + 1}. ${entry.goal}` + (round.source === 'user' ? ` (your refinement: ${round.instruction})` : '') });
    entries.push(entry);
  }
  if (!clips.length || !renderer) return;
  if (!timelinePlayer) timelinePlayer = new Player($('timeline-player'), { follow: true });
  timelinePlayer.onclip = (c) => { for (const e of timeline) if (e.li) e.li.classList.toggle('playing', e === entries[c]); };
  timelinePlayer.shownClip = null;
  timelinePlayer.setClips(clips);
}

function roundCard(result, round) {
  const answer = round.round === result.answer_round;
  const card = el('article', { className: `round${answer ? ' answer' : ''}${round.source === 'user' ? ' user' : ''}` });
  const title = el('h3', {}, `Round ${round.round}`);
  if (answer) title.append(el('span', { className: 'badge', textContent: 'answer' }));
  if (round.source === 'user') title.append(el('span', { className: 'badge', textContent: `your refinement of round ${round.from_round}` }));
  if (round.level_name) title.append(el('span', { className: `level l${round.level}`, textContent: round.level_name }));
  card.append(title);
  if (round.joints && renderer) {
    const player = new Player(card);
    player.setClips([{ joints: round.joints, label: `${round.frames} frames, ${round.tokens} motion tokens` }]);
    roundPlayers.push(player);
  } else if (!round.joints) {
    card.append(el('p', { className: 'error', textContent: 'The model made no motion in this round.' }));
  }
  const notes = el('dl');
  const add = (term, text) => { if (text) notes.append(el('dt', { textContent: term }), el('dd', { textContent: text })); };
  if (round.source === 'user') {
    add('Your instruction', round.instruction);
    if (round.goal !== result.goal) add('Goal, as your instruction updated it', round.goal);
  } else if (round.round > 1) {
    add('Following', result.rounds[round.round - 2].refinement);
  }
  add('Assessment', round.assessment);
  add('Refinement', round.refinement);
  for (const w of round.warnings || []) add('Warning', w);
  card.append(notes);
  if (round.joints) {
    const links = el('p', { className: 'downloads' }, 'Download:');
    for (const fmt of formats) {
      links.append(el('a', { href: `/api/results/${result.id}/rounds/${round.round}.${fmt}`, download: `irgmotion_${result.id}_round${round.round}.${fmt}`, textContent: fmt.toUpperCase() }));
    }
    card.append(links);
  }
  return card;
}

function showResult(entry) {
  for (const p of roundPlayers) p.dispose();
  roundPlayers = [];
  shown = entry;
  renderTimeline();
  $('result').hidden = !entry;
  if (!entry) return;
  const result = entry.result;
  $('result-goal').textContent = result.goal;
  $('result-analysis').textContent = result.analysis ? `Analysis: ${result.analysis}` : '';
  const meta = [`answer: round ${result.answer_round ?? '–'} of ${result.rounds.length}`,
    `reasoning took ${result.seconds.toFixed(2)} s`, result.batched_with > 1 ? `decoded with ${result.batched_with - 1} other goal(s)` : ''];
  $('result-meta').textContent = meta.filter(Boolean).join(' · ') + (result.warnings.length ? ` · warning: ${result.warnings.join('; ')}` : '');
  const rounds = $('rounds');
  rounds.replaceChildren(...result.rounds.map((r) => roundCard(result, r)));
  const select = $('steer-round');
  select.replaceChildren(...result.rounds.filter((r) => r.joints).map((r) => el('option', { value: r.round, textContent: r.round })));
  const played = playedRound(result);
  if (played) select.value = played.round;
}

async function generate(event) {
  event.preventDefault();
  const goals = $('goals').value.split('\n').map((s) => s.trim()).filter(Boolean);
  if (!goals.length) { setStatus('Write a goal first, e.g. "a person jumps twice".', true); return; }
  const options = { max_rounds: Number($('max-rounds').value), seed: Number($('seed').value), sample: $('sample').checked };
  setStatus(`Generating ${goals.length} goal${goals.length === 1 ? '' : 's'}…`);
  $('goals').value = '';
  const entries = goals.map((goal) => ({ goal, state: 'waiting' }));
  timeline.push(...entries);
  renderTimeline();
  await Promise.all(entries.map(async (entry) => {
    try {
      entry.result = await api('/api/generate', { goal: entry.goal, ...options });
      entry.state = 'done';
      entry.goal = entry.result.goal;
      if (!shown || shown.state !== 'done' || entries.includes(shown) === false) showResult(entry);
    } catch (err) {
      entry.state = 'error';
      entry.error = err.message;
      setStatus(err.message, true);
    }
    renderTimeline();
    updateTimelinePlayer();
  }));
  const failed = entries.filter((e) => e.state === 'error').length;
  if (!failed) setStatus(`Done: ${entries.length} goal${entries.length === 1 ? '' : 's'} generated.`);
}

async function steer(event) {
  event.preventDefault();
  if (!shown) return;
  const instruction = $('instruction').value.trim();
  const round = Number($('steer-round').value);
  const entry = shown;
  $('steer').disabled = true;
  setStatus(`Refining round ${round}: ${instruction}…`);
  try {
    const data = await api('/api/steer', { id: entry.result.id, round, instruction });
    entry.result.rounds.push(data.round);
    $('instruction').value = '';
    setStatus(data.round.joints ? `Round ${data.round.round}: your refinement, assessed.` : 'The model made no motion for that instruction.', !data.round.joints);
    if (shown === entry) showResult(entry);
    renderTimeline();
    updateTimelinePlayer();
  } catch (err) {
    setStatus(err.message, true);
  } finally {
    $('steer').disabled = false;
  }
}

async function start() {
  try {
    const health = await api('/api/health');
    skeleton = health.skeleton;
    formats = health.formats;
    $('max-rounds').value = health.max_rounds;
    $('max-rounds').max = health.max_rounds_limit;
    const bundle = health.bundle.split('/').filter(Boolean).slice(-2).join('/');
    $('health').textContent = `bundle ${bundle} · verdict ${health.verdict} · answer ${health.select}`;
  } catch (err) {
    $('health').textContent = 'server unavailable';
    setStatus(err.message, true);
    return;
  }
  makeRenderer();
  $('goal-form').addEventListener('submit', generate);
  $('steer-form').addEventListener('submit', steer);
  document.body.dataset.ready = 'true';
  requestAnimationFrame(tick);
}

start();
