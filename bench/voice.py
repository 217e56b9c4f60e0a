"""Voice call benchmark: voice turns through the real pipeline over WebRTC (an aiortc caller in
this process, streamlit-webrtc's WebRtcWorker, the call worker, the offline stack: Silero VAD,
Whisper tiny.en, the demo clone's retrieval and offline answerer, Piper).

Each turn's question is spoken over the previous answer 1 s after it starts (a barge-in that
is also the next question); the last answer plays to the end. Prints p50 / p95 of end of
speech -> first audio frame on the return track, measured on the server (last speech frame
received -> first non-silent frame sent) and at the caller (last speech sample sent -> first
sound received), the per-stage breakdown, connect time (Start -> audio flowing) and barge-in
stop time (confirmed interruption -> last audio frame sent).

    python bench/voice.py [--turns 20] [--calls 1]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

QUESTIONS = (
    "What are the bakery's opening hours?",
    "How long is the Heron Ridge Loop?",
    "How do I add documents to a clone?",
    "When does the first bake start?",
    "How long does the trail take to walk?",
    "What happens to bread that is not sold?",
    "How do I create a new clone?",
    "Is the bakery open on Mondays?",
    "How high does the trail climb?",
    "When do the cardamom buns come out of the oven?",
)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def line(label: str, values: list[float]) -> str:
    if not values:
        return f"  {label:<38} (none)"
    return f"  {label:<38} p50 {pct(values, .5):7.0f} ms   p95 {pct(values, .95):7.0f} ms   n={len(values)}"


async def one_call(runtime, clone, spoken: list, turns: int) -> dict:
    from core.call.session import CallSession
    from tests.call_peer import Loopback, silence

    session = CallSession(runtime, clone.id)
    out = {"caller_first_audio": [], "connect": None}
    async with Loopback(session) as call:
        await call.until(lambda: call.audio_flowing_at is not None, 30)
        out["connect"] = (call.audio_flowing_at - call.connect_started) * 1000
        await call.until(lambda: session.ready_at is not None, 120)
        call.microphone.say(silence(0.3))
        for i in range(turns):
            before = len(session.replies)
            starts_before = session.buffer.first_audio_at
            call.microphone.say(spoken[i % len(spoken)], trailing_silence=0.1)
            ends = len(call.microphone.speech_ends)
            await call.until(lambda: len(call.microphone.speech_ends) > ends, 30)
            said_at = call.microphone.speech_ends[-1]
            started = await call.until(
                lambda: session.buffer.first_audio_at not in (None, starts_before) and session._turn is not None
                and len(session.barge_ins) + len(session.replies) >= before, 60)
            heard = call.recording.first_sound_after(said_at)
            await call.until(lambda: call.recording.first_sound_after(said_at) is not None, 5)
            heard = call.recording.first_sound_after(said_at)
            if started and heard:
                out["caller_first_audio"].append((heard - said_at) * 1000)
            await asyncio.sleep(1.0)  # let the answer play for a second, then the next question barges in
        await call.until(lambda: len(session.replies) >= turns, 120)
        await call.until(lambda: not session.buffer.speaking(), 120)
    out["replies"] = session.replies
    out["barge_ins"] = session.barge_ins
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--calls", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("CLONE_STUDIO_HOME", tempfile.mkdtemp(prefix="bench-voice-"))
    from core.call.turn import warm_up
    from core.demo import ensure_demo_clone
    from core.runtime import open_runtime
    from tests.call_peer import speech

    print(f"load average at start: {os.getloadavg()[0]:.2f} (nproc {os.cpu_count()})")
    runtime = open_runtime(seed_demo=False)
    clone = ensure_demo_clone(runtime)
    spoken = [speech(q) for q in QUESTIONS]
    warm_up(runtime, clone)
    results = [asyncio.run(one_call(runtime, clone, spoken, args.turns)) for _ in range(args.calls)]
    runtime.close()

    replies = [r for res in results for r in res["replies"] if r.message is not None]
    timing = lambda key: [r.message.timings[key] for r in replies if r.message.timings.get(key) is not None]  # noqa: E731
    first_audio = timing("first_audio")
    def stage(keys, fn):
        rows = [r.message.timings for r in replies]
        return [fn(t) for t in rows if all(t.get(k) is not None for k in keys)]
    after_llm = stage(("audio_ready", "answer_start", "first_token"),
                      lambda t: t["audio_ready"] - t["answer_start"] - t["first_token"])
    after_confirm = stage(("first_audio", "confirmed"), lambda t: t["first_audio"] - t["confirmed"])
    ahead = stage(("answer_start", "confirmed"), lambda t: t["answer_start"] < t["confirmed"])
    confirmed = [b for res in results for b in res["barge_ins"] if b.confirmed_at and b.last_audio_at]
    print(f"{len(replies)} voice turns in {args.calls} call(s); load average now {os.getloadavg()[0]:.2f}")
    print("end of speech -> first audio frame (the 0.6 s pause included):")
    print(line("server: last speech frame -> first sent", first_audio))
    print(line("caller: last speech sample -> heard", [x for res in results for x in res["caller_first_audio"]]))
    print("stages:")
    print(line("user speech", timing("speech")))
    print(line("end of speech -> transcript ready", timing("stt")))
    print(line("end of speech -> answer started", timing("answer_start")))
    print(line("retrieval", timing("retrieval")))
    print(line("chat turn start -> first token", timing("first_token")))
    print(line("first token -> first audio made (TTS)", after_llm))
    print(line("end of speech -> first audio made", timing("audio_ready")))
    print(line("end of speech -> turn confirmed (pause)", timing("confirmed")))
    print(line("turn confirmed -> first audio sent", after_confirm))
    print(f"  answered speculatively (started inside the pause): {sum(ahead)} of {len(ahead)}")
    print(line("connect: Start -> audio flowing", [res["connect"] for res in results if res["connect"]]))
    print(line("barge-in: confirmed -> last frame sent", [max(0.0, (b.last_audio_at - b.confirmed_at) * 1000) for b in confirmed]))
    print(line("barge-in: speech onset -> last frame sent", [max(0.0, (b.last_audio_at - b.onset) * 1000) for b in confirmed if b.onset]))
    print(f"  interrupted answers: {sum(r.message.status == 'interrupted' for r in replies)}, "
          f"false interruptions: {sum(b.resumed for res in results for b in res['barge_ins'])}")
    print("targets: first audio p50 <= 1000 ms, p95 <= 1500 ms; connect <= 1500 ms; barge-in stop <= 300 ms")


if __name__ == "__main__":
    main()
