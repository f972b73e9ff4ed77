// The addon's thread pool: a few persistent workers that help the calling (JS) thread through the items of
// one call — the row/column blocks of a product, the (row, kv head) pairs of attention. Shared by every kernel
// of native/, so no two pools ever compete for the cores. Header-only (no Node): a scratch micro-benchmark
// can include it.
//
// Contention. On an idle machine a worker spins between calls (a decode step calls every ~10–100 µs and a
// wake-up through the condition variable costs about as much), and the caller and the worker split each call.
// When the cores are oversubscribed (other processes busy), the OS deschedules the worker for a time slice
// (milliseconds) — sometimes right after it claimed an item, which the caller then waits for. So the pool
// watches each shared call: when the caller waited longer than it worked itself (and more than lateFloor), the
// call would have been faster alone, and the pool runs solo (the caller does every item; workers stop spinning
// and sleep) for a back-off that doubles while workers keep being late and starts over after a calm stretch. A
// worker that notices it was descheduled while spinning (a gap in its clock) stops spinning at once.
// Solo runs the same items as a shared run, so results never depend on contention, only time does.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace seqsch_fused {

class Pool {
 public:
  using Fn = void (*)(const void* ctx, int64_t item);
  using Clock = std::chrono::steady_clock;

  /** how long an idle worker spins for the next call before it sleeps (µs) */
  std::atomic<int> spinMicros{500};
  /** false: always share calls, never go solo (measurements compare both in one process) */
  std::atomic<bool> adaptive{true};

  struct Stats {
    uint64_t shared, late, solo;  // calls run with workers; of them, calls a worker made the caller wait for; calls run solo
  };
  Stats stats() const { return {shared_.load(), late_.load(), solo_.load()}; }

  /** Run fn(ctx, i) for i in [0, n) on the caller and up to threads − 1 workers; returns when all are done. */
  void run(int64_t n, int threads, Fn fn, const void* ctx) {
    if (threads <= 1 || n <= 1) {
      for (int64_t i = 0; i < n; i++) fn(ctx, i);
      return;
    }
    std::lock_guard<std::mutex> caller(run_);  // one call at a time (callers from several JS threads queue)
    const Clock::time_point start = Clock::now();
    if (adaptive.load(std::memory_order_relaxed) && start < soloUntil_) {
      solo_.fetch_add(1, std::memory_order_relaxed);
      for (int64_t i = 0; i < n; i++) fn(ctx, i);
      return;
    }
    uint32_t g;
    bool wake;
    {
      std::lock_guard<std::mutex> lock(m_);
      while ((int)workers_.size() < threads - 1) workers_.emplace_back([this] { loop(); });
      g = gen_.load(std::memory_order_relaxed) + 1;
      total_ = n;
      fn_ = fn;
      ctx_ = ctx;
      done_.store(0, std::memory_order_relaxed);
      ticket_.store((uint64_t)g << 32, std::memory_order_release);
      gen_.store(g, std::memory_order_release);  // last: a spinning worker that sees g finds the call complete
      wake = sleepers_ > 0;
    }
    if (wake) cv_.notify_all();  // no system call while every worker spins
    work(g, n, fn, ctx);
    const Clock::time_point mine = Clock::now();
    // the caller waits only for items a worker has already claimed
    while (done_.load(std::memory_order_acquire) < n) std::this_thread::yield();
    const Clock::time_point end = Clock::now();
    shared_.fetch_add(1, std::memory_order_relaxed);
    if (adaptive.load(std::memory_order_relaxed)) judge(mine - start, end - mine, end);
  }

 private:
  static constexpr auto lateFloor = std::chrono::microseconds(100);   // below this a wait is never "late"
  static constexpr auto minBackoff = std::chrono::milliseconds(2);
  static constexpr auto maxBackoff = std::chrono::milliseconds(256);
  static constexpr int calmCalls = 256;  // shared calls without a late worker before the back-off halves
  static constexpr auto burstWindow = std::chrono::milliseconds(20);  // a second late call within this goes solo
  static constexpr int calmBackoffs = 4;  // a late call more than this many back-offs after the last one starts over

  /** After a shared call: the caller worked `own` and then waited `wait` for workers. */
  void judge(Clock::duration own, Clock::duration wait, Clock::time_point end) {
    if (wait > lateFloor && wait > own) {
      late_.fetch_add(1, std::memory_order_relaxed);
      // One late call alone is a hiccup — a vCPU preempted once on an otherwise idle VM — and going solo after it
      // only loses the second core (measured: 0.81× at tiny-v3 batch 16 when every late call went solo). Go solo
      // on the second late call within burstWindow; a late call long after the last one (more than calmBackoffs
      // back-offs: the calls in between were on time) also restarts at the shortest back-off. Under sustained
      // contention late calls come in bursts and right after each solo stretch, so the back-off keeps doubling.
      // (Counting calm *calls* alone never shrank it: no shared calls happen while solo.)
      const Clock::duration gap = end - lastLate_;
      lastLate_ = end;
      calm_ = 0;
      if (gap > calmBackoffs * backoff_) backoff_ = minBackoff;
      if (gap > burstWindow) return;
      soloUntil_ = end + backoff_;
      backoff_ = std::min<Clock::duration>(2 * backoff_, maxBackoff);
    } else if (++calm_ >= calmCalls) {
      calm_ = 0;
      backoff_ = std::max<Clock::duration>(backoff_ / 2, minBackoff);
    }
  }

  void work(uint32_t g, int64_t n, Fn fn, const void* ctx) {
    for (;;) {
      uint64_t t = ticket_.load(std::memory_order_acquire);
      if ((uint32_t)(t >> 32) != g || (int64_t)(t & 0xffffffffu) >= n) return;
      if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel)) continue;
      fn(ctx, (int64_t)(t & 0xffffffffu));
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  void loop() {
    uint32_t seen = 0;
    for (;;) {
      // Spin for the next call a while; stop early when a gap in the clock shows the OS took the core away
      // (then the cores are busy, and spinning only takes time from the caller and the other processes).
      Clock::time_point last = Clock::now();
      const Clock::time_point until = last + std::chrono::microseconds(spinMicros.load(std::memory_order_relaxed));
      while (gen_.load(std::memory_order_acquire) == seen) {
        relax();
        const Clock::time_point now = Clock::now();
        if (now >= until || now - last > std::chrono::microseconds(50)) break;
        last = now;
      }
      uint32_t g;
      int64_t n;
      Fn fn;
      const void* ctx;
      {
        std::unique_lock<std::mutex> lock(m_);
        sleepers_++;
        cv_.wait(lock, [&] { return gen_.load(std::memory_order_relaxed) != seen; });
        sleepers_--;
        seen = g = gen_.load(std::memory_order_relaxed);
        n = total_;
        fn = fn_;
        ctx = ctx_;
      }
      work(g, n, fn, ctx);
    }
  }

  static inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  std::mutex run_;
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  int sleepers_ = 0;                    // workers parked on cv_ (guarded by m_)
  std::atomic<uint64_t> ticket_{0};     // (generation << 32) | next item
  std::atomic<int64_t> done_{0};
  std::atomic<uint32_t> gen_{0};
  int64_t total_ = 0;
  Fn fn_ = nullptr;
  const void* ctx_ = nullptr;
  // contention state (guarded by run_)
  Clock::time_point soloUntil_{};
  Clock::duration backoff_ = minBackoff;
  Clock::time_point lastLate_{};
  int calm_ = 0;
  std::atomic<uint64_t> shared_{0}, late_{0}, solo_{0};
};

inline Pool& pool() {
  static Pool* p = new Pool();  // never deleted: no destructor races parked threads at exit
  return *p;
}

}  // namespace seqsch_fused
