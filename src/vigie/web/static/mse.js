// Live video passed through (issue 16): the camera's own H.264, never transcoded, as fragmented MP4 over a
// WebSocket (/api/cameras/<id>/live.fmp4) into Media Source Extensions. The server says the codec first (a text
// message), then sends the init segment and one fragment per frame (binary). The player keeps close to the live
// edge: it jumps to the newest frame when it is more than LIVE_EDGE_S behind and drops what it has already shown.
// When the browser cannot play the codec, MediaSource is missing, or the server refuses (a camera with privacy
// masks is MJPEG only: its raw stream never leaves the server), onFallback() is called and the caller shows the
// MJPEG picture instead.

const LIVE_EDGE_S = 0.5; // behind the newest frame by more than this: jump to it
const CATCH_UP_S = 0.15; // behind by more than this: play slightly faster until back
const KEEP_S = 3; // seconds kept behind the playhead
const RETRY_MS = 3000;
const FALLBACK_CODES = new Set([4401, 4403, 4404, 4406, 1008]);

export function mseSupported() {
  return typeof window.MediaSource !== "undefined";
}

export class MsePlayer {
  constructor(video, cameraId, quality, { onFallback, onError, onPlaying } = {}) {
    this.video = video;
    this.cameraId = cameraId;
    this.quality = quality;
    this.onFallback = onFallback || (() => {});
    this.onError = onError || (() => {});
    this.onPlaying = onPlaying || (() => {}); // a stream (again) after an error: the caller clears what it showed
    this.stopped = false;
    this.started = false; // a codec was accepted: the stream plays here
    this.queue = [];
    this.source = null;
    this.buffer = null;
    this.url = null;
    video.muted = true; // no sound, and a muted video may start without a click
    video.playsInline = true;
    video.autoplay = true;
  }

  start() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const path = `/api/cameras/${encodeURIComponent(this.cameraId)}/live.fmp4?quality=${this.quality}`;
    this.ws = new WebSocket(`${scheme}://${location.host}${path}`);
    this.ws.binaryType = "arraybuffer";
    this.ws.addEventListener("message", (event) => this.received(event.data));
    this.ws.addEventListener("close", (event) => this.closed(event.code));
    return this;
  }

  stop() {
    this.stopped = true;
    if (this.ws) this.ws.close();
    this.ws = null;
    this.detach();
  }

  fallback(why) {
    if (this.stopped) return;
    this.stop();
    this.onFallback(why);
  }

  closed(code) {
    if (this.stopped) return;
    if (!this.started || FALLBACK_CODES.has(code)) {
      this.fallback(`closed ${code}`);
      return;
    }
    setTimeout(() => { if (!this.stopped) { this.detach(); this.started = false; this.start(); } }, RETRY_MS);
  }

  received(data) {
    if (this.stopped) return;
    if (typeof data === "string") {
      const message = JSON.parse(data);
      if (message.codec) {
        if (!MediaSource.isTypeSupported(message.mime)) this.fallback(`codec ${message.codec}`);
        else { this.attach(message.mime); this.onPlaying(); }
      } else if (message.code === "no_video") {
        this.onError(message.error);
      } else if (message.error) {
        this.fallback(message.code || message.error);
      }
      return;
    }
    this.queue.push(new Uint8Array(data));
    this.pump();
  }

  attach(mime) {
    // A new stream (or new parameters): a fresh MediaSource, the init segment comes next.
    this.detach();
    this.started = true;
    const source = new MediaSource();
    this.source = source;
    this.url = URL.createObjectURL(source);
    this.video.src = this.url;
    source.addEventListener("sourceopen", () => {
      if (this.source !== source) return;
      try {
        this.buffer = source.addSourceBuffer(mime);
        this.buffer.mode = "segments";
        source.duration = Infinity; // a live stream: the browser renders each frame as soon as it is decoded
      } catch (err) {
        this.fallback(String(err));
        return;
      }
      this.buffer.addEventListener("updateend", () => { this.chase(); this.pump(); });
      this.buffer.addEventListener("error", () => this.fallback("source buffer error"));
      this.pump();
    }, { once: true });
    this.video.onerror = () => this.fallback("video error");
  }

  detach() {
    this.buffer = null;
    this.source = null;
    this.queue = [];
    if (this.url) {
      URL.revokeObjectURL(this.url);
      this.url = null;
      this.video.onerror = null;
      this.video.removeAttribute("src");
      this.video.load();
    }
  }

  pump() {
    const buffer = this.buffer;
    if (!buffer || buffer.updating || !this.queue.length) return;
    const ranges = buffer.buffered;
    const now = this.video.currentTime;
    if (ranges.length && now - ranges.start(0) > 2 * KEEP_S) {
      buffer.remove(ranges.start(0), now - KEEP_S); // what was shown: the browser need not keep it
      return;
    }
    let chunk = this.queue[0];
    if (this.queue.length > 1) {
      chunk = new Uint8Array(this.queue.reduce((n, part) => n + part.length, 0));
      let at = 0;
      for (const part of this.queue) { chunk.set(part, at); at += part.length; }
    }
    this.queue = [];
    try {
      buffer.appendBuffer(chunk);
    } catch (err) {
      this.fallback(String(err));
    }
  }

  chase() {
    // Stay at the live edge: jump when far behind (a stall, a skipped GOP), catch up gently when a little behind.
    const video = this.video;
    const ranges = this.buffer ? this.buffer.buffered : null;
    if (!ranges || !ranges.length) return;
    const start = ranges.start(ranges.length - 1);
    const end = ranges.end(ranges.length - 1);
    const behind = end - video.currentTime;
    if (behind > LIVE_EDGE_S || video.currentTime < start) video.currentTime = Math.max(start, end - 0.05);
    video.playbackRate = behind > CATCH_UP_S ? 1.1 : 1.0;
    if (video.paused) video.play().catch(() => {});
  }
}
