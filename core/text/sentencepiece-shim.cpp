// The only C++ in libcascade: a C interface over sentencepiece::SentencePieceProcessor.
// No exception may cross into C, so every entry point catches everything and turns it
// into a cascade_status; sentencepiece's own util::Status failures are reported the same
// way, with the library's message.
#include "sentencepiece-shim.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include <sentencepiece_processor.h>

struct cascade_spm {
    sentencepiece::SentencePieceProcessor proc;
};

namespace {

cascade_status fail_exception(cascade_error *err, const char *what, const char *where) {
    return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: sentencepiece raised: %s", where,
                             what);
}

} // namespace

extern "C" cascade_status cascade_spm_load(const char *path, cascade_spm **out,
                                           cascade_error *err) {
    if (!out) return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "spm_load: out is NULL");
    *out = nullptr;
    if (!path) return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "spm_load: path is NULL");
    cascade_spm *spm = nullptr;
    try {
        spm = new cascade_spm();
        const sentencepiece::util::Status st = spm->proc.Load(path);
        if (!st.ok()) {
            const bool io = st.code() == sentencepiece::util::StatusCode::kNotFound ||
                            st.code() == sentencepiece::util::StatusCode::kPermissionDenied;
            cascade_error_set(err, io ? CASCADE_STATUS_IO : CASCADE_STATUS_FORMAT,
                              "%s: not a usable SentencePiece model: %s", path,
                              st.ToString().c_str());
            delete spm;
            return io ? CASCADE_STATUS_IO : CASCADE_STATUS_FORMAT;
        }
        if (spm->proc.GetPieceSize() <= 0) {
            delete spm;
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s: SentencePiece model has no pieces", path);
        }
    } catch (const std::bad_alloc &) {
        delete spm;
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                 "%s: out of memory loading the SentencePiece model", path);
    } catch (const std::exception &e) {
        delete spm;
        return fail_exception(err, e.what(), path);
    } catch (...) {
        delete spm;
        return fail_exception(err, "unknown exception", path);
    }
    *out = spm;
    return CASCADE_STATUS_OK;
}

extern "C" void cascade_spm_free(cascade_spm *spm) {
    try {
        delete spm;
    } catch (...) {
        // A destructor that throws has nowhere to report; the memory is gone either way.
    }
}

extern "C" int32_t cascade_spm_piece_size(const cascade_spm *spm) {
    if (!spm) return 0;
    try {
        return spm->proc.GetPieceSize();
    } catch (...) {
        return 0;
    }
}

extern "C" int32_t cascade_spm_unk_id(const cascade_spm *spm) {
    if (!spm) return -1;
    try {
        return spm->proc.unk_id();
    } catch (...) {
        return -1;
    }
}

extern "C" int32_t cascade_spm_piece_to_id(const cascade_spm *spm, const char *piece, size_t n) {
    if (!spm || (!piece && n)) return -1;
    try {
        return spm->proc.PieceToId(absl::string_view(piece ? piece : "", n));
    } catch (...) {
        return -1;
    }
}

extern "C" cascade_status cascade_spm_encode(const cascade_spm *spm, const char *text, size_t n,
                                             int32_t **ids, size_t *n_ids, cascade_error *err) {
    if (!ids || !n_ids)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "spm_encode: NULL output");
    *ids = nullptr;
    *n_ids = 0;
    if (!spm || (!text && n))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "spm_encode: NULL argument");
    try {
        std::vector<int>                  v;
        const sentencepiece::util::Status st =
            spm->proc.Encode(absl::string_view(text ? text : "", n), &v);
        if (!st.ok())
            return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                     "sentencepiece encode failed: %s", st.ToString().c_str());
        if (v.empty()) return CASCADE_STATUS_OK;
        int32_t *out = static_cast<int32_t *>(std::malloc(v.size() * sizeof *out));
        if (!out)
            return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                     "sentencepiece encode: out of memory (%zu ids)", v.size());
        for (size_t i = 0; i < v.size(); i++) out[i] = v[i];
        *ids = out;
        *n_ids = v.size();
        return CASCADE_STATUS_OK;
    } catch (const std::bad_alloc &) {
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                 "sentencepiece encode: out of memory");
    } catch (const std::exception &e) {
        return fail_exception(err, e.what(), "sentencepiece encode");
    } catch (...) {
        return fail_exception(err, "unknown exception", "sentencepiece encode");
    }
}

extern "C" cascade_status cascade_spm_decode(const cascade_spm *spm, const int32_t *ids,
                                             size_t n_ids, char **text, cascade_error *err) {
    if (!text) return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "spm_decode: NULL output");
    *text = nullptr;
    if (!spm || (!ids && n_ids))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "spm_decode: NULL argument");
    try {
        const int32_t    size = spm->proc.GetPieceSize();
        std::vector<int> v(n_ids);
        for (size_t i = 0; i < n_ids; i++) {
            // sentencepiece checks ids with fatal CHECKs in places; never hand it a bad one.
            if (ids[i] < 0 || ids[i] >= size)
                return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                         "spm_decode: id %d at position %zu is outside [0, %d)",
                                         (int)ids[i], i, (int)size);
            v[i] = ids[i];
        }
        std::string                       s;
        const sentencepiece::util::Status st = spm->proc.Decode(v, &s);
        if (!st.ok())
            return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                     "sentencepiece decode failed: %s", st.ToString().c_str());
        char *out = static_cast<char *>(std::malloc(s.size() + 1));
        if (!out)
            return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                     "sentencepiece decode: out of memory (%zu bytes)", s.size());
        std::memcpy(out, s.data(), s.size());
        out[s.size()] = '\0';
        *text = out;
        return CASCADE_STATUS_OK;
    } catch (const std::bad_alloc &) {
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                 "sentencepiece decode: out of memory");
    } catch (const std::exception &e) {
        return fail_exception(err, e.what(), "sentencepiece decode");
    } catch (...) {
        return fail_exception(err, "unknown exception", "sentencepiece decode");
    }
}
