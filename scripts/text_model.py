"""mixq's small BERT-style text classifier and the task it is trained on.

Shared by scripts/train_text_model.py (training, export) and
scripts/torch_bench.py (the PyTorch side of scripts/bench_peers), which
rebuilds the model from models/text_bert.pt. The encoder is written out block
by block rather than taken from nn.TransformerEncoder, so that its export has
the shape of a Hugging Face BERT: token + position embeddings and a
LayerNorm, post-norm blocks of multi-head self-attention (the padding mask
added to the scores before Softmax) and an exact-GELU feed-forward, each with
a residual, then a tanh pooler on the [CLS] position and a linear classifier.

The task: which of 8 letters occurs most often in a sequence of 16 to 126
letters? Each sequence draws its letters from its own random distribution
(Dirichlet with concentration ALPHA), so the race is often close: in about one
sequence in six the winner leads the runner-up by a single occurrence; ties
are drawn again. The answer depends on every position at once and the model
has no path between positions but attention, so the [CLS] position must
gather counts through self-attention, over a variable number of tokens (the
padding masked out), to a precision of one token in up to 126: rounding the
activations (INT8) blurs exactly the close races.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEQ_LEN = 128
PAD, CLS = 0, 1
LETTERS = 8
VOCAB = 2 + LETTERS  # letter k is token 2 + k
CLASSES = LETTERS
MIN_LETTERS, MAX_LETTERS = 16, SEQ_LEN - 2
ALPHA = 2.0


# ---------------------------------------------------------------- task


def make_set(rng, count):
    """`count` samples: (ids int32 [N,128], mask int32 [N,128], labels int64 [N])."""
    ids = np.zeros((count, SEQ_LEN), np.int32)
    mask = np.zeros((count, SEQ_LEN), np.int32)
    labels = np.zeros(count, np.int64)
    for s in range(count):
        while True:
            length = int(rng.integers(MIN_LETTERS, MAX_LETTERS + 1))
            letters = rng.choice(LETTERS, length, p=rng.dirichlet(np.full(LETTERS, ALPHA)))
            counts = np.bincount(letters, minlength=LETTERS)
            top2 = np.sort(counts)[-2:]
            if top2[1] > top2[0]:
                break
        ids[s, 0] = CLS
        ids[s, 1 : length + 1] = letters + 2
        mask[s, : length + 1] = 1
        labels[s] = int(counts.argmax())
    return ids, mask, labels


def margins(ids):
    """How far each sample's winner leads the runner-up (for reading results)."""
    counts = np.stack([(ids == 2 + k).sum(1) for k in range(LETTERS)], 1)
    top2 = np.sort(counts, 1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


# ---------------------------------------------------------------- model


def linear(layer, x):
    """layer(x), but in training as a 1x1 convolution: Debian's torch runs
    nn.Linear on the reference (netlib) BLAS, and oneDNN's convolution does
    the same product, forward and backward, about four times faster on the
    CPU. Eval mode, the export and quantize_dynamic's modules call the layer
    itself."""
    if not (layer.training and isinstance(layer, nn.Linear)):
        return layer(x)
    rows = x.reshape(-1, x.shape[-1], 1, 1)
    y = F.conv2d(rows, layer.weight[:, :, None, None], layer.bias)
    return y.view(*x.shape[:-1], layer.out_features)


class SelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def split(self, x):
        b, n, _ = x.shape
        return x.view(b, n, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, mask_bias):
        b, n, d = x.shape
        q = self.split(linear(self.query, x))
        k = self.split(linear(self.key, x))
        v = self.split(linear(self.value, x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        probs = torch.softmax(scores + mask_bias, dim=-1)
        context = torch.matmul(probs, v).transpose(1, 2).reshape(b, n, d)
        return linear(self.out, context)


class EncoderBlock(nn.Module):
    """Post-norm (as BERT): x = LN(x + attn(x)); x = LN(x + ffn(x))."""

    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.attention = SelfAttention(dim, heads)
        self.norm1 = nn.LayerNorm(dim)
        self.ff_in = nn.Linear(dim, hidden)
        self.ff_out = nn.Linear(hidden, dim)
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x, mask_bias):
        x = self.norm1(x + self.attention(x, mask_bias))
        return self.norm2(x + linear(self.ff_out, F.gelu(linear(self.ff_in, x))))


class TextBert(nn.Module):
    """Takes input_ids and attention_mask (int64 [N,L], L <= max_len); gives logits [N,classes]."""

    def __init__(self, vocab=VOCAB, max_len=SEQ_LEN, dim=32, heads=4, layers=2, hidden=128,
                 classes=CLASSES):
        super().__init__()
        self.config = dict(vocab=vocab, max_len=max_len, dim=dim, heads=heads, layers=layers,
                           hidden=hidden, classes=classes)
        self.tokens = nn.Embedding(vocab, dim)
        self.positions = nn.Embedding(max_len, dim)
        self.norm = nn.LayerNorm(dim)
        self.blocks = nn.ModuleList(EncoderBlock(dim, heads, hidden) for _ in range(layers))
        self.pooler = nn.Linear(dim, dim)
        self.classifier = nn.Linear(dim, classes)

    def forward(self, input_ids, attention_mask):
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.norm(self.tokens(input_ids) + self.positions(positions))
        # Padding keys get -10000 before Softmax (BERT's constant): exp underflows to 0.
        mask_bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0
        for block in self.blocks:
            x = block(x, mask_bias)
        pooled = torch.tanh(linear(self.pooler, x[:, 0]))
        return linear(self.classifier, pooled)


def dynamic_int8(model):
    """PyTorch's usual CPU recipe for BERT: nn.Linear weights in INT8, activations
    quantized per batch at run time, on the first quantized engine this torch has
    of fbgemm, x86 and onednn."""
    engines = torch.backends.quantized.supported_engines
    for engine in ("fbgemm", "x86", "onednn"):
        if engine in engines:
            torch.backends.quantized.engine = engine
            break
    return torch.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
