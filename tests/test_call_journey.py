"""Journey in a real browser: a voice call with the demo clone through Chromium's fake microphone.

Chromium plays a recorded question (Piper's voice) as its microphone; the test presses Start
inside the streamlit-webrtc iframe and sees the question's transcript, a cited answer, and
non-silent audio on the remote track (measured in the page with an AnalyserNode). It also
checks the browser's peer connection was given no ICE servers (no STUN, no TURN).
"""
from __future__ import annotations

import re
from contextlib import contextmanager

import numpy as np
import pytest

from core.providers.speech import decode_audio, wav_bytes
from tests.browser import launch_chromium, new_page, run_studio, screenshot_on_failure, wait_idle

QUESTION = "What are the bakery's opening hours?"
LEAD_IN = 4.0  # seconds of silence while the call connects
TAIL = 16.0  # seconds of silence after the question; then it repeats, in case a slow machine connected after it

# Runs in every frame before its scripts: watch peer connections and measure the remote audio.
WATCH = """
(() => {
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  window.__call = {configs: [], peak: 0, heardAt: null};
  window.RTCPeerConnection = function (config, ...rest) {
    window.__call.configs.push(JSON.parse(JSON.stringify(config || {})));
    const pc = new Native(config, ...rest);
    window.__call.states = [];
    pc.addEventListener('connectionstatechange', () => window.__call.states.push([pc.connectionState, Math.round(performance.now())]));
    pc.addEventListener('track', (event) => {
      const context = new AudioContext();
      const source = context.createMediaStreamSource(new MediaStream([event.track]));
      const analyser = context.createAnalyser();
      analyser.fftSize = 2048;
      source.connect(analyser);
      const samples = new Float32Array(analyser.fftSize);
      setInterval(() => {
        analyser.getFloatTimeDomainData(samples);
        let peak = 0;
        for (const s of samples) peak = Math.max(peak, Math.abs(s));
        window.__call.peak = Math.max(window.__call.peak, peak);
        if (peak > 0.05 && window.__call.heardAt === null) window.__call.heardAt = performance.now();
      }, 50);
    });
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
})();
"""


@pytest.fixture(scope="module")
def question_wav(tmp_path_factory):
    """The question in Piper's voice at 48 kHz mono, after a silent lead-in, then silence (Chromium loops
    the file: a call that connects late hears the next repetition instead of nothing)."""
    from core.providers.tts_offline import PiperTTS
    from core.providers.speech import join_audio

    spoken = join_audio(PiperTTS().stream(QUESTION))
    pcm, _ = decode_audio(spoken.wav(), 48_000)
    silence = np.zeros(int(48_000 * LEAD_IN), dtype=np.int16)
    samples = np.concatenate([silence, np.frombuffer(pcm, dtype="<i2"), np.zeros(int(48_000 * TAIL), dtype=np.int16)])
    path = tmp_path_factory.mktemp("call") / "question.wav"
    path.write_bytes(wav_bytes(samples, 48_000))
    return path


@contextmanager
def _log_on_failure(studio, page):
    """On failure, print what the studio logged and what the page said (CI keeps no screenshot)."""
    try:
        yield
    except BaseException:
        print(studio.output()[-6000:])
        try:
            print(page.locator('[data-testid="stMain"]').inner_text(timeout=5_000)[-3000:])
            frame = _call_frame(page)
            print("peer connection states:", frame and frame.evaluate("() => window.__call.states"))
        except Exception as error:  # the page itself may be what broke
            print("could not read the page:", error)
        raise


def _call_frame(page):
    for frame in page.frames:
        if frame.evaluate("() => !!window.__call && window.__call.configs.length > 0"):
            return frame
    return None


@pytest.mark.browser
def test_a_voice_call_with_the_demo_clone(settings, question_wav):
    flags = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
             f"--use-file-for-fake-audio-capture={question_wav}", "--autoplay-policy=no-user-gesture-required")
    with run_studio(settings.home) as studio, launch_chromium(flags) as browser:
        page = new_page(browser)
        page.add_init_script(WATCH)
        page.goto(f"{studio.url}/call")
        wait_idle(page)
        with screenshot_on_failure(page, "call-journey"), _log_on_failure(studio, page):
            page.get_by_text("Ready: press Start call").wait_for(timeout=180_000)  # the models are warm
            component = page.frame_locator('iframe[title="streamlit_webrtc.component.webrtc_streamer"]')
            component.get_by_role("button", name="Start call").click()
            user = page.locator('[data-testid="stChatMessage"]:has([data-testid="stChatMessageAvatarUser"])')
            user.filter(has_text=re.compile("opening", re.I)).first.wait_for(timeout=90_000)  # the transcript
            page.get_by_text("juniper-street-bakery-handbook.md").first.wait_for(timeout=90_000)  # a citation card
            frame = _call_frame(page)
            assert frame is not None, "no peer connection was made"
            frame.wait_for_function("() => window.__call.peak > 0.05", timeout=60_000)  # the answer is heard
            assert frame.evaluate("() => window.__call.configs") == [{"iceServers": []}]
            component.get_by_role("button", name="End call").click()
            page.get_by_text("Call ended").or_(page.get_by_text("Ready: press Start call")).first.wait_for()
