"""The built-in training text for the synthetic tokenizers: English prose, code, and other scripts.

Its only job is to give the deterministic BPE trainer (`bpe.py`) realistic material, so the
synthetic vocabularies contain ordinary merges (" the", "ing", "def", "()", multi-byte UTF-8
pieces) that a tokenizer implementation can be exercised against. Changing this text changes every
synthetic vocabulary, so treat it as frozen.
"""

CORPUS = """\
The small model runs on the laptop without a network connection. It reads the weights from a single
file, maps them into memory, and answers questions one token at a time. Each weight is minus one,
zero, or plus one, so the matrix products become additions and subtractions. That is why the model
is fast on an ordinary processor: there is almost no multiplication left to do, and the whole
network fits in a little more than one gigabyte of memory.

When you open the application for the first time, it checks the processor, chooses the fastest
kernels that the machine supports, and tells you which ones it picked. Then it asks where your
models are. You can download the recommended model, or you can import a file that you already
have. The application validates the file before it lists it, because a broken or truncated file
should never crash the program. If something is wrong, the message says what is wrong and what you
can do about it.

Conversations are saved as you type. If the computer loses power in the middle of an answer, the
question you asked and the part of the answer that was already written are still there when you
come back. You can stop a long answer at any time; the model stops after the current token.

Questions people often ask:
- How many tokens per second should I expect? On a recent laptop, between ten and thirty.
- Does it send my text anywhere? No. Nothing leaves the computer.
- Can I use my own model? Yes, if it is a ternary model in one of the supported formats.
- Why is the first answer slower? The operating system has to read the weights from the disk.

The weather was cold and clear. She walked to the station, bought a ticket, and waited for the
train. It was late again, as it always was in winter, but nobody seemed to mind. A child was
counting the birds on the wire: one, two, three, four, five, six, seven, eight, nine, ten.
"There are twelve," said the child's father. "You missed the two on the roof." They laughed, and
the train arrived at 07:45, only eighteen minutes behind the timetable.

def quantize_row(x, scale):
    '''Round each value to the nearest integer after scaling, and clamp it to int8.'''
    out = []
    for value in x:
        q = round(value * scale)
        out.append(max(-128, min(127, q)))
    return out


class TokenCounter:
    def __init__(self, limit=4096):
        self.limit = limit
        self.count = 0

    def add(self, n):
        if self.count + n > self.limit:
            raise ValueError(f"context is full: {self.count} + {n} > {self.limit}")
        self.count += n
        return self.count

for (int i = 0; i < n; i++) {
    int32_t sum = 0;
    for (int k = 0; k < K; k++) {
        sum += (int32_t)w[i * K + k] * (int32_t)x[k];
    }
    y[i] = (float)sum * scale;
}

#include <stdint.h>
static inline uint8_t pack4(const uint8_t *c) { return (uint8_t)(c[0] << 6 | c[1] << 4 | c[2] << 2 | c[3]); }

SELECT id, title, created_at FROM conversations WHERE archived = 0 ORDER BY created_at DESC LIMIT 20;
{"model": "bitnet-b1.58-2B-4T", "threads": 4, "temperature": 0.8, "top_p": 0.95, "stop": ["<|eot_id|>"]}
$ python -m pytest -q tests/engine --maxfail=1
12 passed, 0 failed in 3.51s

Numbers and units: 3.14159, 2.71828, 1e-5, 500000, 128256 tokens, 2560 dimensions, 30 layers,
1,179,449,920 bytes, 99.9% of the time, 42 °C, 5 km/h, $19.99, €25, ¥300, 10:30 am.

Other languages and scripts:
Français : le modèle répond à la question très rapidement, même sur un vieil ordinateur portable.
Deutsch: Die Gewichte sind ternär, also entweder minus eins, null oder plus eins. Schön, oder?
Español: ¿Dónde está la estación? Mañana vamos a la playa con los niños.
Português: A inteligência artificial não precisa de uma placa gráfica para funcionar.
Polski: Zażółć gęślą jaźń. Łódź leży w centrum kraju.
Ελληνικά: Το μοντέλο τρέχει τοπικά στον υπολογιστή σας.
Русский: Модель работает без подключения к интернету, быстро и надёжно.
Українська: Ґанок, їжак, єнот — усі вони живуть у лісі.
עברית: המודל פועל על המחשב שלך.
العربية: يعمل النموذج على جهازك دون اتصال بالإنترنت.
हिन्दी: यह मॉडल आपके कंप्यूटर पर चलता है।
中文：这个模型在你的电脑上运行，不需要网络。三值权重让计算更快。
日本語：このモデルはあなたのパソコンで動きます。ネットワークは必要ありません。
한국어: 이 모델은 인터넷 없이 컴퓨터에서 실행됩니다.
ไทย: โมเดลนี้ทำงานบนคอมพิวเตอร์ของคุณ
Tiếng Việt: Mô hình chạy trên máy tính của bạn mà không cần mạng.
Emoji and symbols: 🙂 👍🏽 🚀 ✨ ❤️ → ← ↑ ↓ ≤ ≥ ≠ ± × ÷ ∑ ∫ √ ∞ © ® ™ § ¶ • … “quoted” ‘single’ — –
Mixed: naïve café façade coöperate résumé jalapeño smörgåsbord Øresund Ærø straße.

The end of the text repeats a few common words so that the merges for them are learned early:
the the the and and and of of of to to to in in in is is is it it it that that that for for for
with with with on on on as as as at at at by by by this this this from from from you you you
"""
