/* CLIPTokenizer (transformers 4.31, slow, ftfy absent) from text to ids and back:
 *
 *   text -> split out special-token strings (leftmost, longest first; each maps to its id)
 *        -> each other piece: BasicTokenizer(strip_accents=False, do_split_on_punc=False):
 *           drop U+0000, U+FFFD and category C* but \t\n\r; whitespace -> ' '; spaces
 *           around CJK ideographs; NFC; split at whitespace; str.lower() each word; join
 *           with ' '
 *        -> CLIP's regex (IGNORECASE) cuts words: <|startoftext|> <|endoftext|> 's 't 're
 *           've 'm 'll 'd, letter runs, single digits, runs of other non-space characters
 *        -> a word's UTF-8 bytes as byte symbols, "</w>" on the last, BPE merges by rank
 *        -> [bos] ids [eos]
 *
 * Unicode properties come from GLib, whose tables may be a version newer than Python 3.11's
 * (Unicode 14): characters assigned since then are kept here where Python drops them. */
#include <stdlib.h>
#include <string.h>

#include "clip-tokenizer-internal.h"

/* ---- Unicode as Python 3.11 sees it ---- */

/* Code points Unicode 15.0 assigned (GLib 2.74's tables), still unassigned (Cn) in Python
 * 3.11's Unicode 14.0, which BasicTokenizer then drops: found by comparing the two tables
 * over every code point. */
static const gunichar new_in_15[][2] = {
    {0xcf3, 0xcf3},     {0xece, 0xece},     {0x10efd, 0x10eff}, {0x1123f, 0x11241},
    {0x11b00, 0x11b09}, {0x11f00, 0x11f10}, {0x11f12, 0x11f3a}, {0x11f3e, 0x11f59},
    {0x1342f, 0x1342f}, {0x13439, 0x13455}, {0x1b132, 0x1b132}, {0x1b155, 0x1b155},
    {0x1d2c0, 0x1d2d3}, {0x1df25, 0x1df2a}, {0x1e030, 0x1e06d}, {0x1e08f, 0x1e08f},
    {0x1e4d0, 0x1e4f9}, {0x1f6dc, 0x1f6dc}, {0x1f774, 0x1f776}, {0x1f77b, 0x1f77f},
    {0x1f7d9, 0x1f7d9}, {0x1fa75, 0x1fa77}, {0x1fa87, 0x1fa88}, {0x1faad, 0x1faaf},
    {0x1fabb, 0x1fabd}, {0x1fabf, 0x1fabf}, {0x1face, 0x1facf}, {0x1fada, 0x1fadb},
    {0x1fae8, 0x1fae8}, {0x1faf7, 0x1faf8}, {0x2b739, 0x2b739}, {0x31350, 0x323af},
};

static GUnicodeType uni_type(gunichar c) {
    if (c >= 0xcf3)
        for (size_t i = 0; i < G_N_ELEMENTS(new_in_15); i++)
            if (c >= new_in_15[i][0] && c <= new_in_15[i][1]) return G_UNICODE_UNASSIGNED;
    return g_unichar_type(c);
}

/* Python's simple lower-case mapping: GLib's maps letters only, Python's also the roman
 * numerals (Nl) and circled letters (So), the only other code points with one. */
static gunichar uni_tolower(gunichar c) {
    if (c >= 0x2160 && c <= 0x216f) return c + 0x10;
    if (c >= 0x24b6 && c <= 0x24cf) return c + 0x1a;
    return g_unichar_tolower(c);
}

/* ---- BasicTokenizer ---- */

static bool is_control(gunichar c) {
    if (c == '\t' || c == '\n' || c == '\r') return false;
    switch (uni_type(c)) {
    case G_UNICODE_CONTROL:
    case G_UNICODE_FORMAT:
    case G_UNICODE_UNASSIGNED:
    case G_UNICODE_PRIVATE_USE:
    case G_UNICODE_SURROGATE: return true;
    default: return false;
    }
}

static bool is_cjk(gunichar c) {
    return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
           (c >= 0x20000 && c <= 0x2a6df) || (c >= 0x2a700 && c <= 0x2b73f) ||
           (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b820 && c <= 0x2ceaf) ||
           (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

/* Python's Cased and Case_Ignorable properties, for str.lower()'s final-sigma rule. */
static bool is_cased(gunichar c) {
    return g_unichar_islower(c) || g_unichar_isupper(c) || g_unichar_istitle(c) ||
           (c >= 0x2160 && c <= 0x217f) || (c >= 0x24b6 && c <= 0x24e9);
}

static bool is_case_ignorable(gunichar c) {
    switch (uni_type(c)) {
    case G_UNICODE_NON_SPACING_MARK:
    case G_UNICODE_ENCLOSING_MARK:
    case G_UNICODE_FORMAT:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_MODIFIER_SYMBOL: return true;
    default: break;
    }
    /* Word_Break MidLetter, MidNumLet and Single_Quote */
    static const gunichar mid[] = {0x27,   0x2e,   0x3a,   0xb7,   0x387,  0x55f,  0x5f4,
                                   0x2018, 0x2019, 0x2024, 0x2027, 0xfe13, 0xfe52, 0xfe55,
                                   0xff07, 0xff0e, 0xff1a};
    for (size_t i = 0; i < G_N_ELEMENTS(mid); i++)
        if (c == mid[i]) return true;
    return false;
}

/* str.lower() of one word (w: UCS-4, n chars) appended to out. */
static void py_lower(const gunichar *w, long n, GString *out) {
    for (long i = 0; i < n; i++) {
        gunichar c = w[i];
        if (c == 0x130) { /* SpecialCasing: I WITH DOT ABOVE -> i + COMBINING DOT ABOVE */
            g_string_append(out, "i\xcc\x87");
            continue;
        }
        if (c == 0x3a3) { /* Final_Sigma: cased before, no cased after (skipping ignorables) */
            long j = i - 1, k = i + 1;
            while (j >= 0 && is_case_ignorable(w[j])) j--;
            while (k < n && is_case_ignorable(w[k])) k++;
            c = (j >= 0 && is_cased(w[j]) && !(k < n && is_cased(w[k]))) ? 0x3c2 : 0x3c3;
        } else {
            c = uni_tolower(c);
        }
        g_string_append_unichar(out, c);
    }
}

/* " ".join(BasicTokenizer.tokenize(text[0..len))) into out (cleared first). */
static void basic_normalise(const char *text, size_t len, GString *out) {
    GString *clean = g_string_sized_new(len + 16);
    for (const char *p = text; p < text + len; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (c == 0 || c == 0xfffd || is_control(c)) continue;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
            uni_type(c) == G_UNICODE_SPACE_SEPARATOR) {
            g_string_append_c(clean, ' ');
        } else if (is_cjk(c)) {
            g_string_append_c(clean, ' ');
            g_string_append_unichar(clean, c);
            g_string_append_c(clean, ' ');
        } else {
            g_string_append_unichar(clean, c);
        }
    }
    char     *nfc = g_utf8_normalize(clean->str, (gssize)clean->len, G_NORMALIZE_NFC);
    glong     n = 0;
    gunichar *u = nfc ? g_utf8_to_ucs4_fast(nfc, -1, &n) : NULL;
    g_string_truncate(out, 0);
    for (glong i = 0; i < n;) {
        while (i < n && cascade_text_py_isspace(u[i])) i++;
        glong start = i;
        while (i < n && !cascade_text_py_isspace(u[i])) i++;
        if (i == start) break;
        if (out->len) g_string_append_c(out, ' ');
        py_lower(u + start, i - start, out);
    }
    g_free(u);
    g_free(nfc);
    g_string_free(clean, TRUE);
}

/* ---- CLIP's pre-tokenising regex ---- */

/* Simple case folding as the regex module's IGNORECASE applies it to ASCII letters. */
static gunichar fold(gunichar c) {
    if (c == 0x17f) return 's'; /* LATIN SMALL LETTER LONG S */
    if (c == 0x212a) return 'k'; /* KELVIN SIGN */
    return c < 0x80 ? (gunichar)g_ascii_tolower((gchar)c) : c;
}

/* Length in bytes of lit matched case-insensitively at p (before end), 0 when it does not. */
static size_t match_literal(const char *p, const char *end, const char *lit) {
    const char *q = p;
    for (; *lit; lit++) {
        if (q >= end || fold(g_utf8_get_char(q)) != (gunichar)*lit) return 0;
        q = g_utf8_next_char(q);
    }
    return (size_t)(q - p);
}

static bool is_letter(gunichar c) {
    switch (uni_type(c)) {
    case G_UNICODE_UPPERCASE_LETTER:
    case G_UNICODE_LOWERCASE_LETTER:
    case G_UNICODE_TITLECASE_LETTER:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_OTHER_LETTER: return true;
    default: return false;
    }
}

static bool is_number(gunichar c) {
    GUnicodeType t = uni_type(c);
    return t == G_UNICODE_DECIMAL_NUMBER || t == G_UNICODE_LETTER_NUMBER ||
           t == G_UNICODE_OTHER_NUMBER;
}

/* The next regex match at or after *p: [*start, *p) on return; false when none is left. */
static bool next_word(const char **p, const char *end, const char **start) {
    static const char *const alts[] = {"<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re",
                                       "'ve", "'m", "'ll", "'d"};
    while (*p < end) {
        const char *q = *p;
        gunichar    c = g_utf8_get_char(q);
        for (size_t i = 0; i < G_N_ELEMENTS(alts); i++) {
            size_t l = match_literal(q, end, alts[i]);
            if (l) {
                *start = q;
                *p = q + l;
                return true;
            }
        }
        if (is_letter(c)) {
            while (q < end && is_letter(g_utf8_get_char(q))) q = g_utf8_next_char(q);
        } else if (is_number(c)) {
            q = g_utf8_next_char(q);
        } else if (!cascade_text_py_isspace(c)) {
            while (q < end) {
                gunichar d = g_utf8_get_char(q);
                if (cascade_text_py_isspace(d) || is_letter(d) || is_number(d)) break;
                q = g_utf8_next_char(q);
            }
        } else {
            *p = g_utf8_next_char(q);
            continue;
        }
        *start = *p;
        *p = q;
        return true;
    }
    return false;
}

/* ---- BPE ---- */

static int32_t pair_rank(const cascade_clip_tokenizer *tok, int32_t a, int32_t b) {
    if (a < 0 || b < 0) return -1;
    gint64   key = (gint64)a << 32 | (gint64)b;
    gpointer v = g_hash_table_lookup(tok->ranks, &key);
    return v ? GPOINTER_TO_INT(v) - 1 : -1;
}

/* CLIPTokenizer.bpe: the word's bytes as symbols ("</w>" on the last), then the lowest-ranked
 * adjacent pair merged everywhere, left to right, until no pair has a rank. */
static cascade_status bpe_word(const cascade_clip_tokenizer *tok, const unsigned char *w,
                               size_t n, cascade_id_buf *out, cascade_error *err) {
    if (n == 0) return CASCADE_STATUS_OK;
    int32_t *s = malloc(n * sizeof *s);
    if (!s) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "clip tokenizer: no memory");
    for (size_t i = 0; i < n; i++) s[i] = i + 1 < n ? tok->byte_id[w[i]] : tok->byte_end_id[w[i]];
    while (n > 1) {
        int32_t best = -1;
        for (size_t i = 0; i + 1 < n; i++) {
            int32_t r = pair_rank(tok, s[i], s[i + 1]);
            if (r >= 0 && (best < 0 || r < best)) best = r;
        }
        if (best < 0) break;
        const int32_t a = (int32_t)(tok->pair_keys[best] >> 32);
        const int32_t b = (int32_t)(tok->pair_keys[best] & 0xffffffff);
        size_t        j = 0;
        for (size_t i = 0; i < n; j++) {
            if (i + 1 < n && s[i] == a && s[i + 1] == b) {
                s[j] = tok->merged[best];
                i += 2;
            } else {
                s[j] = s[i++];
            }
        }
        n = j;
    }
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0) s[i] = tok->unk_id; /* a byte symbol vocab.json lacks */
    cascade_status st = cascade_id_buf_push(out, s, n, err);
    free(s);
    return st;
}

/* CLIPTokenizer._tokenize + convert_tokens_to_ids of one piece without special tokens. */
static cascade_status tokenize_piece(const cascade_clip_tokenizer *tok, const char *text,
                                     size_t len, GString *norm, cascade_id_buf *out,
                                     cascade_error *err) {
    basic_normalise(text, len, norm);
    const char *p = norm->str, *end = norm->str + norm->len, *w = NULL;
    while (next_word(&p, end, &w)) {
        const size_t l = (size_t)(p - w);
        /* the bpe cache maps exactly these two to themselves (no "</w>") */
        if ((l == 15 && !memcmp(w, "<|startoftext|>", 15)) ||
            (l == 13 && !memcmp(w, "<|endoftext|>", 13))) {
            char   *t = g_strndup(w, l);
            int32_t id = cascade_clip_token_id(tok, t);
            g_free(t);
            CASCADE_TRY(cascade_id_buf_push(out, &id, 1, err));
        } else {
            CASCADE_TRY(bpe_word(tok, (const unsigned char *)w, l, out, err));
        }
    }
    return CASCADE_STATUS_OK;
}

/* The text's ids without bos/eos (PreTrainedTokenizer.tokenize + convert_tokens_to_ids).
 * Whitespace beside a special token is never stripped: BasicTokenizer drops it anyway. */
static cascade_status encode_body(const cascade_clip_tokenizer *tok, const char *text,
                                  cascade_id_buf *b, cascade_error *err) {
    const size_t n = strlen(text);
    if (!g_utf8_validate(text, (gssize)n, NULL))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "clip tokenizer: text is not valid UTF-8");
    GString       *norm = g_string_new(NULL);
    cascade_status st = CASCADE_STATUS_OK;
    for (const char *p = text, *end = text + n; !st && p <= end;) {
        const char                *at = end;
        const cascade_special_tok *s =
            cascade_special_next(tok->specials, tok->n_specials, tok->first_byte, p, end, &at);
        if (at > p) st = tokenize_piece(tok, p, (size_t)(at - p), norm, b, err);
        if (!s || st) break;
        st = cascade_id_buf_push(b, &s->id, 1, err);
        p = at + s->len;
    }
    g_string_free(norm, TRUE);
    return st;
}

cascade_status cascade_clip_tokenizer_encode(const cascade_clip_tokenizer *tok, const char *text,
                                             int32_t **ids, size_t *n_ids, cascade_error *err) {
    if (!ids || !n_ids)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "clip_tokenizer_encode: NULL output");
    *ids = NULL;
    *n_ids = 0;
    if (!tok || !text)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "clip_tokenizer_encode: NULL argument");
    cascade_id_buf b = {0};
    cascade_status st = cascade_id_buf_push(&b, &tok->bos_id, 1, err);
    if (!st) st = encode_body(tok, text, &b, err);
    if (!st) st = cascade_id_buf_push(&b, &tok->eos_id, 1, err);
    if (st) {
        free(b.v);
        return st;
    }
    *ids = b.v;
    *n_ids = b.n;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_clip_tokenizer_encode_padded(const cascade_clip_tokenizer *tok,
                                                    const char *text, int32_t max_length,
                                                    int32_t *ids, int32_t *mask,
                                                    cascade_error *err) {
    if (!tok || !text || !ids || !mask)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "clip_tokenizer_encode_padded: NULL argument");
    if (max_length < 2)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "clip_tokenizer_encode_padded: max_length %d < 2 (bos and eos)",
                                 (int)max_length);
    if (tok->pad_id < 0)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "clip_tokenizer_encode_padded: the tokenizer has no pad token");
    cascade_id_buf b = {0};
    cascade_status st = encode_body(tok, text, &b, err);
    /* truncate_sequences removes len + 2 - max_length ids only when fewer than len */
    if (!st && max_length == 2 && b.n > 0)
        st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                               "clip_tokenizer_encode_padded: max_length 2 leaves no room for "
                               "the text's %zu ids",
                               b.n);
    if (st) {
        free(b.v);
        return st;
    }
    const size_t keep = b.n < (size_t)max_length - 2 ? b.n : (size_t)max_length - 2;
    ids[0] = tok->bos_id;
    if (keep) memcpy(ids + 1, b.v, keep * sizeof *ids);
    ids[keep + 1] = tok->eos_id;
    free(b.v);
    for (size_t i = 0; i < (size_t)max_length; i++) {
        mask[i] = i < keep + 2;
        if (i >= keep + 2) ids[i] = tok->pad_id;
    }
    return CASCADE_STATUS_OK;
}

static cascade_status padded_row(const void *tok, const char *text, int32_t max_length,
                                 int32_t *ids, int32_t *mask, cascade_error *err) {
    return cascade_clip_tokenizer_encode_padded(tok, text, max_length, ids, mask, err);
}

cascade_status cascade_clip_tokenizer_encode_batch(const cascade_clip_tokenizer *tok,
                                                   const char *const *texts, size_t n,
                                                   int32_t max_length, int32_t *ids,
                                                   int32_t *mask, cascade_error *err) {
    return cascade_text_encode_rows(padded_row, tok, texts, n, max_length, ids, mask,
                                    "clip_tokenizer_encode_batch", err);
}

/* ---- decoding ---- */

/* Python's bytes.decode("utf-8", errors): an invalid sequence (its maximal valid prefix) is
 * one U+FFFD with "replace", dropped with "ignore", an error with "strict". */
static cascade_status utf8_decode(const unsigned char *b, size_t n, clip_errors mode,
                                  GString *out, cascade_error *err) {
    for (size_t i = 0; i < n;) {
        const unsigned char c = b[i];
        int                 need = 0;
        unsigned char       lo = 0x80, hi = 0xbf;
        if (c < 0x80) {
            g_string_append_c(out, (char)c);
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) need = 1;
        else if (c >= 0xe0 && c <= 0xef) need = 2, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        else if (c >= 0xf0 && c <= 0xf4) need = 3, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        size_t k = 1;
        for (int j = 0; j < need && i + k < n; j++, k++) {
            if (b[i + k] < (j ? 0x80 : lo) || b[i + k] > (j ? 0xbf : hi)) break;
        }
        if (need && k == (size_t)need + 1) {
            g_string_append_len(out, (const char *)b + i, (gssize)k);
        } else if (mode == CLIP_ERRORS_STRICT) {
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "clip_tokenizer_decode: the ids are not valid UTF-8 "
                                     "(errors='strict')");
        } else if (mode == CLIP_ERRORS_REPLACE) {
            g_string_append(out, "\xef\xbf\xbd");
        }
        i += k;
    }
    return CASCADE_STATUS_OK;
}

/* convert_tokens_to_string: byte symbols back to bytes, decode, "</w>" -> " ", strip; then
 * clean_up_tokenization when the config asks for it. Special ids are skipped. */
cascade_status cascade_clip_tokenizer_decode(const cascade_clip_tokenizer *tok,
                                             const int32_t *ids, size_t n_ids, char **text,
                                             cascade_error *err) {
    if (!text)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "clip_tokenizer_decode: NULL output");
    *text = NULL;
    if (!tok || (!ids && n_ids))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "clip_tokenizer_decode: NULL argument");
    GByteArray    *bytes = g_byte_array_new();
    GString       *s = g_string_new(NULL);
    cascade_status st = CASCADE_STATUS_OK;
    for (size_t i = 0; i < n_ids && !st; i++) {
        if (ids[i] < 0 || ids[i] >= tok->n_ids) {
            st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                   "clip_tokenizer_decode: id %d at position %zu is outside "
                                   "[0, %d)",
                                   (int)ids[i], i, (int)tok->n_ids);
            break;
        }
        if (tok->is_special[ids[i]]) continue; /* skip_special_tokens=True */
        for (const char *p = tok->tokens[ids[i]]; *p; p = g_utf8_next_char(p)) {
            gunichar c = g_utf8_get_char(p);
            if (c >= CLIP_BYTE_CHARS || tok->byte_of[c] < 0) {
                st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                       "clip_tokenizer_decode: token '%s' (id %d) holds a "
                                       "character outside CLIP's byte alphabet",
                                       tok->tokens[ids[i]], (int)ids[i]);
                break;
            }
            guint8 byte = (guint8)tok->byte_of[c];
            g_byte_array_append(bytes, &byte, 1);
        }
    }
    if (!st) st = utf8_decode(bytes->data, bytes->len, tok->errors, s, err);
    g_byte_array_free(bytes, TRUE);
    if (st) {
        g_string_free(s, TRUE);
        return st;
    }
    for (char *w = strstr(s->str, "</w>"); w; w = strstr(w, "</w>")) {
        const gssize at = w - s->str;
        g_string_erase(s, at, 4);
        g_string_insert_c(s, at, ' ');
        w = s->str + at + 1;
    }
    const char *b = s->str, *e = s->str + s->len;
    cascade_text_py_lstrip(&b, e);
    cascade_text_py_rstrip(b, &e);
    char *r = malloc((size_t)(e - b) + 1);
    if (!r) st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "clip_tokenizer_decode: no memory");
    if (r) {
        memcpy(r, b, (size_t)(e - b));
        r[e - b] = '\0';
        if (tok->clean_up) cascade_text_clean_up_spaces(r);
    }
    g_string_free(s, TRUE);
    *text = r;
    return st;
}
