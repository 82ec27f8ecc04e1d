#!/usr/bin/env python3
"""Writes the seed corpora tests/fuzz/corpus-<name>/ (small valid files from tests/data,
models/ and ../shared/golden, plus malformed ones: deep nesting, duplicate keys, wrong types,
truncation) and the JSON dictionaries. Run from the repository root; existing seeds of the
same name are overwritten, others (committed crash inputs) are kept."""
import json, os, struct, zlib, glob, io

ROOT = os.getcwd()
GOLDEN = os.path.join(ROOT, '..', 'shared', 'golden')
FUZZ = os.path.join(ROOT, 'tests', 'fuzz')

def out(name, fname, data):
    d = os.path.join(FUZZ, 'corpus-' + name)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, fname), 'wb') as f:
        f.write(data)

def read(*p):
    with open(os.path.join(*p), 'rb') as f:
        return f.read()

# The issue 14 case: an object holding arrays nested 80,000 deep (~162 KB), over the parser's
# depth limit by far; json-glib alone recurses once per level and overflows the stack.
DEEP = b'{"a":' + b'[' * 80000 + b']' * 80000 + b'}'
HOSTILE = {
    'deep-80000.json': DEEP,
    'bad-dup.json': b'{"a": 1, "a": 2}',
    'bad-comment.json': b'{"a": 1 /* c */}',
    'bad-trailing.json': b'{"a": [1, 2,], }',
    'bad-truncated.json': b'{"a": [1, 2',
    'bad-utf8.json': b'{"\xff": 1}',
    'bad-nul.json': b'{"a\\u0000b": 1}',
    'not-object.json': b'[1, 2, 3]',
    'big-int.json': b'{"a": 123456789012345678901234567890}',
}

def json_seeds(name, valid, prefix=b''):
    for fname, data in valid.items():
        out(name, fname, prefix + data)
    for fname, data in HOSTILE.items():
        out(name, fname, prefix + data)

def mutate_types(obj):
    """Every value of the top level replaced by a value of another JSON type."""
    swap = {str: 7, int: "x", float: [1], bool: {"b": None}, list: 1.5, dict: True,
            type(None): "null"}
    return {k: swap[type(v)] for k, v in obj.items()}

def keys_of(obj, acc):
    if isinstance(obj, dict):
        for k, v in obj.items():
            acc.add(k)
            keys_of(v, acc)
    elif isinstance(obj, list):
        for v in obj:
            keys_of(v, acc)
    elif isinstance(obj, str) and len(obj) < 40:
        acc.add(obj)
    return acc

def write_dict(name, files):
    acc = set()
    for data in files:
        try:
            keys_of(json.loads(data), acc)
        except Exception:
            pass
    lines = ['# JSON tokens and the keys/values of the seed files (make-corpus.py)']
    for tok in ['{', '}', '[', ']', ':', ',', '"', 'true', 'false', 'null', '-1', '0', '1e999',
                'Infinity', '-Infinity', 'NaN', '\\u0000', '\\ud800', '9223372036854775808']:
        lines.append('"%s"' % tok.replace('\\', '\\\\').replace('"', '\\"'))
    for k in sorted(acc):
        q = json.dumps(k, ensure_ascii=True)
        esc = q.replace('\\', '\\\\').replace('"', '\\"')
        lines.append('"%s"' % esc)
    with open(os.path.join(FUZZ, name + '.dict'), 'w') as f:
        f.write('\n'.join(lines) + '\n')

def with_types(name, valid):
    for fname, data in list(valid.items()):
        obj = json.loads(data)
        if isinstance(obj, dict) and obj:
            out(name, 'types-' + fname, json.dumps(mutate_types(obj)))

# the two older harnesses get the deep case too
out('config', 'deep-80000.json', DEEP)
out('safetensors', 'deep-80000', struct.pack('<Q', len(DEEP)) + DEEP)

# ---- model configs ----
unet = {}
for p in sorted(glob.glob(os.path.join(ROOT, 'tests/data/*-configs/*/config.json'))):
    unet[os.path.basename(os.path.dirname(p)) + '.json'] = read(p)
for case in ['unet_sd', 'unet_if_stage1', 'unet_sd_x4_upscaler', 'unet_sweep_0', 'unet_sweep_5']:
    unet[case + '.json'] = read(GOLDEN, case, 'config.json')
u = json.loads(unet['unet_sd.json'])
u['up_block_types'] = [None] + u['up_block_types'][1:]
unet['null-block.json'] = json.dumps(u).encode()
json_seeds('unet-config', unet)
with_types('unet-config', {'t.json': unet['unet_sd.json']})

sched = {}
for p in sorted(glob.glob(os.path.join(GOLDEN, 'scheduler_*', 'config.json')))[:12]:
    sched[os.path.basename(os.path.dirname(p)) + '.json'] = read(p)
for p in glob.glob(os.path.join(ROOT, 'models/emoji-cascade/*/*scheduler/scheduler_config.json')):
    sched[p.split('/')[-3] + '-' + p.split('/')[-2] + '.json'] = read(p)
json_seeds('scheduler-config', sched)
with_types('scheduler-config', {'t.json': sched['scheduler_ddim.json']})

enc = {'t5.json': read(GOLDEN, 't5_encoder', 'config.json'),
       'clip-text.json': read(GOLDEN, 'clip_text_model', 'config.json'),
       'vae.json': read(GOLDEN, 'vae', 'config.json'),
       'emoji-t5.json': read(ROOT, 'models/emoji-cascade/stage1/text_encoder/config.json')}
v = json.loads(enc['vae.json'])
v['down_block_types'] = [None] + v['down_block_types'][1:]
enc['vae-null-block.json'] = json.dumps(v).encode()
json_seeds('encoder-config', enc)
with_types('encoder-config', {'t.json': enc['t5.json']})

# ---- pipeline folder files ----
idx = {}
for p in sorted(glob.glob(os.path.join(GOLDEN, 'pipeline_*', 'model_index.json')))[:6]:
    idx[os.path.basename(os.path.dirname(p)) + '.json'] = read(p)
for p in glob.glob(os.path.join(ROOT, 'models/emoji-cascade/*/model_index.json')):
    idx['emoji-' + p.split('/')[-2] + '.json'] = read(p)
json_seeds('model-index', idx)
out('model-index', 'bad-component.json',
    b'{"_class_name": "IFPipeline", "unet": ["diffusers"], "vae": [null, null], "x": 3}')

gd = {}
for p in glob.glob(os.path.join(ROOT, 'models/emoji-cascade/*/generation_defaults.json')):
    gd[p.split('/')[-2] + '.json'] = read(p)
gd['all.json'] = b'{"steps": 30, "guidance": 7.0, "noise_level": 250, "strength": 0.8}'
gd['range.json'] = b'{"steps": 0, "guidance": -1e308, "noise_level": 1000, "strength": 0}'
json_seeds('generation-defaults', gd)

pr = {'emoji.json': read(ROOT, 'models/emoji-cascade/stage1/prompts.json'),
      'small.json': b'{"styles": ["flat style"], "subjects": ["red apple"], "prompts": []}',
      'empty-entry.json': b'{"styles": [""], "extra": 1}'}
pr['null-entry.json'] = b'{"styles": ["flat style", null]}'
json_seeds('prompts', pr)

shard = {'valid.json': json.dumps({"metadata": {"total_size": 72}, "weight_map": {
             "x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors"}}).encode(),
         'missing.json': b'{"weight_map": {"x": "b.safetensors"}}',
         'escape.json': b'{"weight_map": {"x": "../a.safetensors", "y": "a.bin"}}',
         'partial.json': b'{"weight_map": {"z": "b.safetensors"}}'}
json_seeds('shard-index', shard)

# ---- tokenizers (first byte: which file of the folder the rest becomes) ----
t5 = os.path.join(FUZZ, 'data', 't5')
emoji_tok = os.path.join(ROOT, 'models/emoji-cascade/stage1/tokenizer')
out('t5-tokenizer', 'spiece-tiny', b'\x00' + read(t5, 'spiece.model'))
out('t5-tokenizer', 'spiece-truncated', b'\x00' + read(t5, 'spiece.model')[:500])
out('t5-tokenizer', 'spiece-empty', b'\x00')
json_seeds('t5-tokenizer', {'config.json': read(t5, 'tokenizer_config.json'),
                            'config-emoji.json': read(emoji_tok, 'tokenizer_config.json')},
           prefix=b'\x01')
json_seeds('t5-tokenizer', {'map.json': read(t5, 'special_tokens_map.json'),
                            'map-emoji.json': read(emoji_tok, 'special_tokens_map.json')},
           prefix=b'\x02')
clip = os.path.join(FUZZ, 'data', 'clip')
json_seeds('clip-tokenizer', {'vocab.json': read(clip, 'vocab.json')}, prefix=b'\x00')
out('clip-tokenizer', 'merges.txt', b'\x01' + read(clip, 'merges.txt'))
out('clip-tokenizer', 'merges-bad.txt', b'\x01#version: 0.2\nt h\nzz qq\nonly\n')
json_seeds('clip-tokenizer', {'config.json': read(clip, 'tokenizer_config.json')}, prefix=b'\x02')
json_seeds('clip-tokenizer', {'map.json': read(clip, 'special_tokens_map.json')}, prefix=b'\x03')

# ---- upscalers ----
tfjs = read(FUZZ, 'data', 'tfjs', 'model.json')
json_seeds('tfjs', {'model.json': tfjs})
m = json.loads(tfjs)
m['weightsManifest'][0]['weights'][0]['shape'] = [3, 3, 3, 13]
out('tfjs', 'shape-mismatch.json', json.dumps(m))
m = json.loads(tfjs)
m['weightsManifest'][0]['paths'] = ['../group1-shard1of1.bin']
out('tfjs', 'path-escape.json', json.dumps(m))
# config.json as `cascade convert` writes it for data/tfjs (see fuzz-esrgan-config.c)
esr = {'converted.json': json.dumps({
    "_class_name": "UpscalerJSNetwork", "architecture": "rrdn", "scale": 2, "channels": 3,
    "value_range": 1.0, "input": "input_1", "output": "ps",
    "source": {"format": "layers-model", "generated_by": "keras v2.4.0",
               "converted_by": "TensorFlow.js Converter v3.0.0", "model_name": "tiny"},
    "layers": [
        {"name": "input_1", "op": "input", "inputs": [], "channels": 3},
        {"name": "conv", "op": "conv2d", "inputs": ["input_1"], "channels": 12,
         "in_channels": 3, "kernel": [3, 3], "pad": [1, 1, 1, 1], "bias": True,
         "activation": "linear"},
        {"name": "ps", "op": "depth_to_space", "inputs": ["conv"], "channels": 3, "block": 2}]},
    indent=1).encode()}
json_seeds('esrgan-config', esr)

# ---- PNG ----
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)

def png(w, h, ct, bd, rows, extra=b'', interlace=0):
    raw = b''.join(b'\x00' + r for r in rows)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, bd, ct, 0, 0, interlace))
            + extra + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))

out('png', 'rgb.png', png(3, 2, 2, 8, [bytes(range(9)), bytes(range(9, 18))]))
out('png', 'rgba.png', png(2, 2, 6, 8, [bytes(range(8)), bytes(range(8, 16))]))
out('png', 'gray1.png', png(9, 1, 0, 1, [b'\xaa\x80']))
out('png', 'gray-alpha16.png', png(1, 2, 4, 16, [b'\x01\x02\x03\x04', b'\xff\xff\x00\x00']))
out('png', 'palette-trns.png', png(2, 1, 3, 4, [b'\x10'],
    extra=chunk(b'PLTE', b'\x00\x00\x00\xff\x00\x00') + chunk(b'tRNS', b'\x80')))
out('png', 'interlaced.png', png(3, 3, 2, 8, [bytes(9)] * 3, interlace=1))
out('png', 'bomb.png', png(100000, 100000, 2, 8, [b'']))
out('png', 'truncated.png', png(3, 2, 2, 8, [bytes(range(9)), bytes(range(9, 18))])[:40])
sample = read(ROOT, 'models/emoji-cascade/sample-red-apple.png')
if len(sample) < 200000:
    out('png', 'sample-red-apple.png', sample)

# ---- ui: presets and recipe text ----
pre = {}
for p in sorted(glob.glob(os.path.join(ROOT, 'presets', '*.json'))):
    pre[os.path.basename(p)] = read(p)
pre['types.json'] = b'{"name": 5, "description": {"x": 1}, "values": {"steps1": 12, "style": 3}}'
pre['values-not-object.json'] = b'{"name": "x", "values": [1]}'
pre['forbidden.json'] = b'{"values": {"prompt": "a cat", "candidate": 2}}'
json_seeds('preset', pre)

out('recipe', 'full.txt', '''[cascade-recipe]
version=0.1.0
mode=generate
prompt=a red apple\\non a plate
negative-prompt=
model=
sr-model=
upscaler=
preset=balanced
backend=auto
seed=42
random-seed=false
steps1=30
steps2=20
guidance1=7
guidance2=4
stage2=true
noise-level=250
batch=4
candidate=-1
context-margin=32
upscale-factor=4
tile=0
strength=0.6
style=flat style
feather=-1
colour-match=true
inpaint-strength=1
aspect=16:9
''')
out('recipe', 'unknown-key.txt', '[cascade-recipe]\nwhat=1\n')
out('recipe', 'bad-values.txt', '[cascade-recipe]\nsteps1=1e9\nguidance1=nan\nmode=paint\nseed=-1\n')
out('recipe', 'groups.txt', '[other]\na=b\n[cascade-recipe]\n')
out('recipe', 'escapes.txt', '[cascade-recipe]\nprompt=\\s\\t\\x\\\nstyle=\\\n')

for name, files in {
        'json-model': list(unet.values()) + list(sched.values()) + list(enc.values()),
        'json-pipeline': list(idx.values()) + list(gd.values()) + list(pr.values())
                         + list(shard.values()),
        'json-tokenizer': [read(t5, 'tokenizer_config.json'), read(emoji_tok, 'tokenizer_config.json'),
                           read(clip, 'tokenizer_config.json'), read(clip, 'special_tokens_map.json')],
        'json-upscaler': [tfjs] + list(esr.values()),
        'json-preset': list(pre.values())}.items():
    write_dict(name, files)
