"""Python reference of Skipper's model features (src/models/features.ts).

Streaming, standard library only, mirroring the TypeScript line for line (same float operations in the same
order), so features computed here for training equal the ones the bot computes live: the golden files written
by train_torch.py are checked against the TypeScript pipeline by the test suite (<= 1e-9 relative).

    from features import FeaturePipeline
    p = FeaturePipeline([{"name": "ret_1", "fn": "ret", "window": 1}, {"name": "rsi_14", "fn": "rsi", "window": 14}])
    for c in candles:            # dicts with ts, open, high, low, close, volume
        if p.update(c):
            row = list(p.values)
"""

import math

NAN = float("nan")


# ---- indicators (src/strategy/indicators.ts) ------------------------------------------------------------


class Sma:
    """pandas-exact rolling mean: Kahan-compensated running sum plus a run counter of identical values."""

    def __init__(self, period):
        self.period = period
        self.buf = [0.0] * period
        self.head = 0
        self.count = 0
        self.sum = 0.0
        self.comp_add = 0.0
        self.comp_remove = 0.0
        self.same = 0
        self.last = NAN
        self.v = NAN

    def push(self, x):
        n = self.period
        h = self.head
        s = self.sum
        if self.count == n:
            y = -self.buf[h] - self.comp_remove
            t = s + y
            self.comp_remove = t - s - y
            s = t
        else:
            self.count += 1
        self.buf[h] = x
        self.head = 0 if h + 1 == n else h + 1
        y = x - self.comp_add
        t = s + y
        self.comp_add = t - s - y
        self.sum = t
        if x == self.last:
            self.same += 1
        else:
            self.same = 1
            self.last = x
        if self.count == n:
            self.v = x if self.same >= n else t / n

    @property
    def ready(self):
        return self.count == self.period

    @property
    def value(self):
        return self.v

    @property
    def flat(self):
        return self.same >= self.period


class Ema:
    def __init__(self, period):
        self.period = period
        self.alpha = 2 / (period + 1)
        self.count = 0
        self.seed = 0.0
        self.v = NAN

    def push(self, x):
        if self.count == self.period:
            self.v += self.alpha * (x - self.v)
        else:
            self.seed += x
            self.count += 1
            if self.count == self.period:
                self.v = self.seed / self.period

    @property
    def ready(self):
        return self.count == self.period

    @property
    def value(self):
        return self.v


class Rsi:
    def __init__(self, period):
        self.period = period
        self.prev = NAN
        self.changes = 0
        self.gain = 0.0
        self.loss = 0.0
        self.v = NAN

    def push(self, x):
        prev = self.prev
        self.prev = x
        if prev != prev:
            return
        ch = x - prev
        g = ch if ch > 0 else 0.0
        l = -ch if ch < 0 else 0.0
        n = self.period
        if self.changes == n:
            gain = (self.gain * (n - 1) + g) / n
            loss = (self.loss * (n - 1) + l) / n
        else:
            self.gain += g
            self.loss += l
            self.changes += 1
            if self.changes < n:
                return
            gain = self.gain / n
            loss = self.loss / n
        self.gain = gain
        self.loss = loss
        d = gain + loss
        self.v = 50.0 if d == 0 else (100 * gain) / d

    @property
    def ready(self):
        return self.changes == self.period

    @property
    def value(self):
        return self.v


class Bollinger:
    """Middle = Sma; sigma from a sliding Welford update on shifted values, resynced two-pass every n updates."""

    def __init__(self, period, k=2.0):
        self.period = period
        self.k = k
        self.sma = Sma(period)
        self.buf = [0.0] * period
        self.head = 0
        self.count = 0
        self.shift = 0.0
        self.sum_d = 0.0
        self.m2 = 0.0
        self.since_sync = 0
        self.sd = NAN

    def push(self, x):
        n = self.period
        h = self.head
        full = self.count == n
        old = self.buf[h]
        self.buf[h] = x
        self.head = 0 if h + 1 == n else h + 1
        self.sma.push(x)
        if not full:
            self.count += 1
            if self.count < n:
                return
        if self.sma.flat:
            self.shift = x
            self.sum_d = 0.0
            self.m2 = 0.0
        else:
            resync = not full
            if full:
                self.since_sync += 1
                resync = self.since_sync >= n
            if resync:
                self._resync()
            else:
                K = self.shift
                d_old = old - K
                d_new = x - K
                m_old = self.sum_d / n
                self.sum_d += d_new - d_old
                m2 = self.m2 + (d_new - d_old) * (d_new - self.sum_d / n + d_old - m_old)
                self.m2 = m2 if m2 > 0 else 0.0
        self.sd = math.sqrt(self.m2 / n)

    def _resync(self):
        n = self.period
        b = self.buf
        x = b[n - 1 if self.head == 0 else self.head - 1]
        s = 0.0
        for i in range(n):
            s += b[i] - x
        m = s / n
        m2 = 0.0
        for i in range(n):
            d = b[i] - x - m
            m2 += d * d
        self.shift = x
        self.sum_d = s
        self.m2 = m2
        self.since_sync = 0

    @property
    def ready(self):
        return self.count == self.period

    @property
    def middle(self):
        return self.sma.value

    @property
    def stdev(self):
        return self.sd

    @property
    def upper(self):
        return self.sma.value + self.k * self.sd

    @property
    def lower(self):
        return self.sma.value - self.k * self.sd


class Macd:
    def __init__(self, fast=12, slow=26, signal=9):
        self.fast = Ema(fast)
        self.slow = Ema(slow)
        self.sig = Ema(signal)
        self.line = NAN

    def push(self, x):
        self.fast.push(x)
        self.slow.push(x)
        s = self.slow.value
        if s != s:
            return
        line = self.fast.value - s
        self.line = line
        self.sig.push(line)

    @property
    def ready(self):
        return self.sig.ready

    @property
    def histogram(self):
        return self.line - self.sig.value


class Atr:
    def __init__(self, period=14):
        self.period = period
        self.prev_close = NAN
        self.count = 0
        self.seed = 0.0
        self.v = NAN

    def push(self, c):
        high, low = c["high"], c["low"]
        pc = self.prev_close
        self.prev_close = c["close"]
        if pc != pc:
            return
        tr = max(high - low, abs(high - pc), abs(low - pc))
        n = self.period
        if self.count == n:
            self.v = (self.v * (n - 1) + tr) / n
        else:
            self.seed += tr
            self.count += 1
            if self.count == n:
                self.v = self.seed / n

    @property
    def ready(self):
        return self.count == self.period

    @property
    def value(self):
        return self.v


# ---- features (src/models/features.ts) ------------------------------------------------------------------

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
TAU = 2 * math.pi
MONDAY_OFFSET = 3 * DAY_MS


class Ret:
    def __init__(self, n, log):
        self.warmup = n + 1
        self.n = n
        self.log = log
        self.buf = [0.0] * (n + 1)
        self.head = 0
        self.count = 0
        self.value = NAN

    def push(self, c):
        self.buf[self.head] = c["close"]
        self.head = 0 if self.head == self.n else self.head + 1
        if self.count <= self.n:
            self.count += 1
        if self.count <= self.n:
            return
        r = c["close"] / self.buf[self.head]
        self.value = math.log(r) if self.log else r - 1


class Vol:
    def __init__(self, n):
        self.warmup = n + 1
        self.prev = NAN
        self.bb = Bollinger(n, 2)
        self.value = NAN

    def push(self, c):
        prev = self.prev
        self.prev = c["close"]
        if prev != prev:
            return
        self.bb.push(math.log(c["close"] / prev))
        if self.bb.ready:
            self.value = self.bb.stdev


class RsiFeature:
    def __init__(self, n):
        self.warmup = n + 1
        self.rsi = Rsi(n)
        self.value = NAN

    def push(self, c):
        self.rsi.push(c["close"])
        if self.rsi.ready:
            self.value = self.rsi.value / 100


class MacdHist:
    def __init__(self, fast, slow, signal):
        if not fast < slow:
            raise ValueError(f"macd: fast ({fast}) must be less than slow ({slow})")
        self.warmup = slow + signal - 1
        self.macd = Macd(fast, slow, signal)
        self.value = NAN

    def push(self, c):
        self.macd.push(c["close"])
        if self.macd.ready:
            self.value = self.macd.histogram / c["close"]


class PctB:
    def __init__(self, n, k):
        self.warmup = n
        self.bb = Bollinger(n, k)
        self.value = NAN

    def push(self, c):
        self.bb.push(c["close"])
        if not self.bb.ready:
            return
        width = self.bb.upper - self.bb.lower
        self.value = (c["close"] - self.bb.lower) / width if width > 0 else 0.5


class AtrFeature:
    def __init__(self, n):
        self.warmup = n + 1
        self.atr = Atr(n)
        self.value = NAN

    def push(self, c):
        self.atr.push(c)
        if self.atr.ready:
            self.value = self.atr.value / c["close"]


class VolumeZ:
    def __init__(self, n):
        self.warmup = n
        self.bb = Bollinger(n, 2)
        self.value = NAN

    def push(self, c):
        self.bb.push(c["volume"])
        if not self.bb.ready:
            return
        sd = self.bb.stdev
        self.value = (c["volume"] - self.bb.middle) / sd if sd > 0 else 0.0


class MaRatio:
    def __init__(self, n, ema):
        self.warmup = n
        self.ma = Ema(n) if ema else Sma(n)
        self.value = NAN

    def push(self, c):
        self.ma.push(c["close"])
        if self.ma.ready:
            self.value = c["close"] / self.ma.value - 1


class Shape:
    warmup = 1

    def __init__(self, part):
        self.part = part
        self.value = NAN

    def push(self, c):
        o, h, l, cl = c["open"], c["high"], c["low"], c["close"]
        rng = h - l
        if not rng > 0:
            self.value = 0.0
            return
        top = o if o > cl else cl
        bottom = o if o < cl else cl
        if self.part == "body":
            num = cl - o
        elif self.part == "upper_wick":
            num = h - top
        else:
            num = bottom - l
        self.value = num / rng


class Cyclic:
    warmup = 1

    def __init__(self, period, offset, cos):
        self.period = period
        self.offset = offset
        self.cos = cos
        self.value = NAN

    def push(self, c):
        # Integer ms arithmetic first (exact, like JS doubles below 2^53), then the same float ops.
        phase = (TAU * (((c["ts"] + self.offset) % self.period + self.period) % self.period)) / self.period
        self.value = math.cos(phase) if self.cos else math.sin(phase)


FEATURES = {
    "ret": (True, {}, lambda n, p: Ret(n, False)),
    "logret": (True, {}, lambda n, p: Ret(n, True)),
    "vol": (True, {}, lambda n, p: Vol(n)),
    "rsi": (True, {}, lambda n, p: RsiFeature(n)),
    "macd": (False, {"fast": 12, "slow": 26, "signal": 9}, lambda n, p: MacdHist(p["fast"], p["slow"], p["signal"])),
    "bb_pctb": (True, {"k": 2}, lambda n, p: PctB(n, p["k"])),
    "atr": (True, {}, lambda n, p: AtrFeature(n)),
    "volume_z": (True, {}, lambda n, p: VolumeZ(n)),
    "sma_ratio": (True, {}, lambda n, p: MaRatio(n, False)),
    "ema_ratio": (True, {}, lambda n, p: MaRatio(n, True)),
    "body": (False, {}, lambda n, p: Shape("body")),
    "upper_wick": (False, {}, lambda n, p: Shape("upper_wick")),
    "lower_wick": (False, {}, lambda n, p: Shape("lower_wick")),
    "hour_sin": (False, {}, lambda n, p: Cyclic(DAY_MS, 0, False)),
    "hour_cos": (False, {}, lambda n, p: Cyclic(DAY_MS, 0, True)),
    "dow_sin": (False, {}, lambda n, p: Cyclic(WEEK_MS, MONDAY_OFFSET, False)),
    "dow_cos": (False, {}, lambda n, p: Cyclic(WEEK_MS, MONDAY_OFFSET, True)),
}


class FeaturePipeline:
    """The features of one model in manifest order; update(candle) -> True once every value is defined."""

    def __init__(self, specs):
        self.names = [s["name"] for s in specs]
        self.features = []
        for s in specs:
            if s["fn"] not in FEATURES:
                raise ValueError(f'feature "{s["name"]}": unknown fn "{s["fn"]}" (known: {", ".join(FEATURES)})')
            needs_window, defaults, make = FEATURES[s["fn"]]
            params = {**defaults, **s.get("params", {})}
            self.features.append(make(s.get("window", 0) if needs_window else 0, params))
        self.values = [NAN] * len(specs)
        self.warmup = max((f.warmup for f in self.features), default=0)
        self.seen = 0

    def update(self, c):
        for i, f in enumerate(self.features):
            f.push(c)
            self.values[i] = f.value
        self.seen += 1
        return self.seen >= self.warmup


def read_candles(path):
    """A Skipper candle CSV (timestamp_ms,open,high,low,close,volume) as a list of dicts."""
    out = []
    with open(path) as f:
        header = f.readline().strip().split(",")
        if header[:6] != ["timestamp_ms", "open", "high", "low", "close", "volume"]:
            raise ValueError(f"{path}: unexpected header {header}")
        last = None
        for line in f:
            p = line.strip().split(",")
            if len(p) < 6:
                continue
            c = {"ts": int(p[0]), "open": float(p[1]), "high": float(p[2]), "low": float(p[3]), "close": float(p[4]), "volume": float(p[5])}
            # What the bot's validator drops: duplicates, out-of-order rows, impossible values.
            if last is not None and c["ts"] <= last:
                continue
            if not all(math.isfinite(c[k]) and c[k] >= 0 for k in ("open", "high", "low", "close", "volume")):
                continue
            if c["high"] < max(c["open"], c["close"], c["low"]) or c["low"] > min(c["open"], c["close"]) or c["close"] <= 0:
                continue
            last = c["ts"]
            out.append(c)
    return out
