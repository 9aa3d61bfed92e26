// emotop: the page's capture worklet. Runs on the browser's audio thread:
// downmixes each 128-frame render quantum to mono and posts ~10 ms blocks
// of Float32 samples, at the AudioContext's own rate, to the page, which
// sends them to emotop as they are (a block's wait is part of the latency
// the page shows).
class EmotopCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.block = Math.max(128, Math.round(sampleRate / 100));
    this.buf = new Float32Array(this.block);
    this.n = 0;
    this.total = 0; // frames posted so far
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true;
    const frames = input[0].length;
    for (let i = 0; i < frames; i++) {
      let acc = 0;
      for (let c = 0; c < input.length; c++) acc += input[c][i];
      this.buf[this.n++] = acc / input.length;
      if (this.n === this.block) {
        this.total += this.n;
        this.port.postMessage({samples: this.buf, end: this.total}, [this.buf.buffer]);
        this.buf = new Float32Array(this.block);
        this.n = 0;
      }
    }
    return true;
  }
}

registerProcessor('emotop-capture', EmotopCapture);
