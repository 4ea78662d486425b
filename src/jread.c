/* jread.c - pull JSON reader: a sliding buffer over a file (or a memory block), a stack of the
 * containers entered, and a recursive parser of single values into an arena reset per value. */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "jread.h"

#define MAX_DEPTH 64
#define READ_CHUNK (1u << 20)
#define ARENA_CHUNK (64u << 10)

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    char data[];
} arena_chunk;

typedef struct frame {
    char kind;      /* 'o' or 'a' */
    uint32_t count; /* members/elements started so far */
} frame;

struct cs_jr {
    FILE *f; /* NULL: memory input */
    const char *name;
    char *buf; /* file input: owned buffer; memory input: the caller's bytes */
    size_t cap;
    size_t pos, end; /* unread bytes are buf[pos, end) */
    bool eof;        /* nothing more to read into buf */
    uint64_t base;   /* stream offset of buf[0] */
    int line;        /* line of buf[pos] (1-based) */
    frame stack[MAX_DEPTH];
    int depth;
    arena_chunk *arena;
    GString *name_buf; /* the current member name */
    GString *sbuf;     /* a string being unescaped */
    GPtrArray *kids;   /* children of the containers being parsed (a stack) */
    GPtrArray *names;  /* their member names */
    char err_msg[96];
    const char *err;
    int err_line;
    bool io_err;
};

/* ---- errors, arena ------------------------------------------------------------------------- */

static void fail(cs_jr *r, const char *msg)
{
    if (r->err != NULL)
        return;
    g_strlcpy(r->err_msg, msg, sizeof r->err_msg);
    r->err = r->err_msg;
    r->err_line = r->line;
}

static void *arena_alloc(cs_jr *r, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    arena_chunk *c = r->arena;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        arena_chunk *nc = g_malloc(sizeof *nc + cap);
        nc->used = 0;
        nc->cap = cap;
        nc->next = c;
        r->arena = nc;
        c = nc;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

/* Frees every chunk but the last allocated one, and empties it. */
static void arena_reset(cs_jr *r)
{
    arena_chunk *c = r->arena;
    if (c == NULL)
        return;
    arena_chunk *rest = c->next;
    c->next = NULL;
    c->used = 0;
    while (rest != NULL) {
        arena_chunk *n = rest->next;
        g_free(rest);
        rest = n;
    }
}

/* ---- input --------------------------------------------------------------------------------- */

cs_jr *cs_jr_new_file(FILE *f, const char *name)
{
    cs_jr *r = g_new0(cs_jr, 1);
    r->f = f;
    r->name = name;
    r->cap = READ_CHUNK;
    r->buf = g_malloc(r->cap);
    r->line = 1;
    r->name_buf = g_string_new(NULL);
    r->sbuf = g_string_new(NULL);
    r->kids = g_ptr_array_new();
    r->names = g_ptr_array_new();
    return r;
}

cs_jr *cs_jr_new_mem(const char *text, size_t len, const char *name)
{
    cs_jr *r = g_new0(cs_jr, 1);
    r->name = name;
    r->buf = (char *)text;
    r->end = len;
    r->eof = true;
    r->line = 1;
    r->name_buf = g_string_new(NULL);
    r->sbuf = g_string_new(NULL);
    r->kids = g_ptr_array_new();
    r->names = g_ptr_array_new();
    return r;
}

void cs_jr_free(cs_jr *r)
{
    if (r == NULL)
        return;
    if (r->f != NULL)
        g_free(r->buf);
    arena_reset(r);
    g_free(r->arena);
    g_string_free(r->name_buf, TRUE);
    g_string_free(r->sbuf, TRUE);
    g_ptr_array_free(r->kids, TRUE);
    g_ptr_array_free(r->names, TRUE);
    g_free(r);
}

/* Reads more of the file, keeping buf[pos, end). Returns false when nothing more can be read
 * (end of file, or an I/O error, which is then set). */
static bool refill(cs_jr *r)
{
    if (r->eof)
        return false;
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->end - r->pos);
        r->base += r->pos;
        r->end -= r->pos;
        r->pos = 0;
    }
    if (r->cap - r->end < READ_CHUNK / 2) {
        r->cap *= 2;
        r->buf = g_realloc(r->buf, r->cap);
    }
    size_t n = fread(r->buf + r->end, 1, r->cap - r->end, r->f);
    r->end += n;
    if (n == 0) {
        r->eof = true;
        if (ferror(r->f)) {
            fail(r, g_strerror(errno != 0 ? errno : EIO));
            r->io_err = true;
        }
        return false;
    }
    return true;
}

/* Skips white space (counting lines). Returns the next character, 0 at the end. */
static char skip_ws(cs_jr *r)
{
    for (;;) {
        while (r->pos < r->end) {
            char c = r->buf[r->pos];
            if (c == '\n')
                r->line++;
            else if (c != ' ' && c != '\t' && c != '\r')
                return c;
            r->pos++;
        }
        if (!refill(r))
            return 0;
    }
}

/* Makes sure the whole value starting at buf[pos] is in the buffer (reading on as needed) and
 * returns its length; 0 (error set) if the input ends inside it. The scan is lenient: the parser
 * checks the grammar. */
static size_t extent(cs_jr *r)
{
    size_t k = 0; /* offset from pos */
    int depth = 0;
    bool in_str = false, esc = false;
    char first = r->buf[r->pos];
    bool scalar = first != '{' && first != '[' && first != '"';
    for (;;) {
        if (r->pos + k == r->end && !refill(r)) {
            if (scalar && k > 0)
                return k; /* a number or literal at the very end */
            fail(r, in_str ? "unterminated string" : "unexpected end of input");
            return 0;
        }
        char c = r->buf[r->pos + k];
        if (scalar) {
            if (c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\n' ||
                c == '\r' || c == ':' || c == '"' || c == '[' || c == '{')
                return k;
            k++;
            continue;
        }
        k++;
        if (in_str) {
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"') {
                in_str = false;
                if (depth == 0)
                    return k;
            }
            continue;
        }
        if (c == '"')
            in_str = true;
        else if (c == '{' || c == '[')
            depth++;
        else if ((c == '}' || c == ']') && --depth == 0)
            return k;
    }
}

/* ---- the value parser (over buf[pos, lim)) ------------------------------------------------- */

typedef struct vp {
    cs_jr *r;
    const char *p, *lim;
    int depth;
} vp;

static void vp_ws(vp *v)
{
    while (v->p < v->lim && (*v->p == ' ' || *v->p == '\t' || *v->p == '\n' || *v->p == '\r')) {
        if (*v->p == '\n')
            v->r->line++;
        v->p++;
    }
}

static bool read_u4(vp *v, uint32_t *cp)
{
    if (v->lim - v->p < 4) {
        fail(v->r, "bad \\u escape");
        return false;
    }
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        int h = g_ascii_xdigit_value(v->p[i]);
        if (h < 0) {
            fail(v->r, "bad \\u escape");
            return false;
        }
        x = x * 16 + (uint32_t)h;
    }
    v->p += 4;
    *cp = x;
    return true;
}

/* Parses the string at v->p (on its quote) into `out` (cleared first). */
static bool parse_string(vp *v, GString *out)
{
    g_string_truncate(out, 0);
    v->p++;
    for (;;) {
        const char *s = v->p;
        while (v->p < v->lim && *v->p != '"' && *v->p != '\\' && (unsigned char)*v->p >= 0x20)
            v->p++;
        g_string_append_len(out, s, v->p - s);
        if (v->p >= v->lim) {
            fail(v->r, "unterminated string");
            return false;
        }
        char c = *v->p;
        if (c == '"') {
            v->p++;
            return true;
        }
        if (c != '\\') {
            fail(v->r, "control character in a string");
            return false;
        }
        v->p++;
        if (v->p >= v->lim) {
            fail(v->r, "unterminated string");
            return false;
        }
        char e = *v->p++;
        switch (e) {
        case '"':
            g_string_append_c(out, '"');
            break;
        case '\\':
            g_string_append_c(out, '\\');
            break;
        case '/':
            g_string_append_c(out, '/');
            break;
        case 'b':
            g_string_append_c(out, '\b');
            break;
        case 'f':
            g_string_append_c(out, '\f');
            break;
        case 'n':
            g_string_append_c(out, '\n');
            break;
        case 'r':
            g_string_append_c(out, '\r');
            break;
        case 't':
            g_string_append_c(out, '\t');
            break;
        case 'u': {
            uint32_t cp, lo;
            if (!read_u4(v, &cp))
                return false;
            if (cp >= 0xd800 && cp < 0xdc00 && v->lim - v->p >= 6 && v->p[0] == '\\' &&
                v->p[1] == 'u') {
                v->p += 2;
                if (!read_u4(v, &lo))
                    return false;
                if (lo >= 0xdc00 && lo < 0xe000)
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            if (cp >= 0xd800 && cp < 0xe000) {
                fail(v->r, "bad \\u escape (lone surrogate)");
                return false;
            }
            g_string_append_unichar(out, (gunichar)cp);
            break;
        }
        default:
            fail(v->r, "bad escape in a string");
            return false;
        }
    }
}

/* Copies a string into the arena (NUL-terminated). */
static const char *arena_str(cs_jr *r, const char *s, size_t n)
{
    char *d = arena_alloc(r, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static void number_value(cs_jv *x, const char *s, size_t n)
{
    bool neg = s[0] == '-';
    const char *d = s + neg;
    size_t nd = n - neg;
    for (size_t i = 0; i < nd; i++)
        if (d[i] < '0' || d[i] > '9')
            return; /* a fraction or an exponent: not an integer */
    uint64_t u = 0;
    for (size_t i = 0; i < nd; i++) {
        uint64_t digit = (uint64_t)(d[i] - '0');
        if (u > (UINT64_MAX - digit) / 10)
            return; /* too large */
        u = u * 10 + digit;
    }
    if (!neg) {
        x->is_u64 = true;
        x->u = u;
        if (u <= (uint64_t)INT64_MAX) {
            x->is_i64 = true;
            x->i = (int64_t)u;
        }
    } else if (u <= (uint64_t)INT64_MAX + 1) {
        x->is_i64 = true;
        x->i = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
    }
}

static const cs_jv *parse_value(vp *v);

static bool parse_number(vp *v, cs_jv *x)
{
    const char *q = v->p;
    if (q < v->lim && *q == '-')
        q++;
    const char *digits = q;
    while (q < v->lim && g_ascii_isdigit(*q))
        q++;
    if (q == digits) {
        fail(v->r, "unexpected character");
        return false;
    }
    if (q < v->lim && *q == '.') {
        q++;
        while (q < v->lim && g_ascii_isdigit(*q))
            q++;
    }
    if (q < v->lim && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < v->lim && (*q == '+' || *q == '-'))
            q++;
        while (q < v->lim && g_ascii_isdigit(*q))
            q++;
    }
    x->kind = 'n';
    x->text = arena_str(v->r, v->p, (size_t)(q - v->p));
    x->len = (uint32_t)(q - v->p);
    number_value(x, v->p, (size_t)(q - v->p));
    v->p = q;
    return true;
}

static bool literal(vp *v, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(v->lim - v->p) >= n && memcmp(v->p, word, n) == 0) {
        v->p += n;
        return true;
    }
    return false;
}

/* Parses an array or object (v->p on its bracket). Children are pushed on the reader's stacks,
 * then copied into the arena. */
static bool parse_container(vp *v, cs_jv *x, bool object)
{
    cs_jr *r = v->r;
    char close = object ? '}' : ']';
    x->kind = object ? 'o' : 'a';
    if (++v->depth > MAX_DEPTH) {
        fail(r, "nested too deeply");
        return false;
    }
    v->p++;
    guint mark = r->kids->len, nmark = r->names->len;
    bool ok = true;
    vp_ws(v);
    if (v->p < v->lim && *v->p == close) {
        v->p++;
    } else {
        for (;;) {
            vp_ws(v);
            if (object) {
                if (v->p >= v->lim || *v->p != '"') {
                    fail(r, "expected a member name");
                    ok = false;
                    break;
                }
                if (!parse_string(v, r->sbuf)) {
                    ok = false;
                    break;
                }
                g_ptr_array_add(r->names, (gpointer)arena_str(r, r->sbuf->str, r->sbuf->len));
                vp_ws(v);
                if (v->p >= v->lim || *v->p != ':') {
                    fail(r, "expected ':'");
                    ok = false;
                    break;
                }
                v->p++;
            }
            const cs_jv *item = parse_value(v);
            if (item == NULL) {
                ok = false;
                break;
            }
            g_ptr_array_add(r->kids, (gpointer)item);
            vp_ws(v);
            if (v->p < v->lim && *v->p == ',') {
                v->p++;
                continue;
            }
            if (v->p < v->lim && *v->p == close) {
                v->p++;
                break;
            }
            fail(r, object ? "expected ',' or '}'" : "expected ',' or ']'");
            ok = false;
            break;
        }
    }
    x->n = r->kids->len - mark;
    x->kids = arena_alloc(r, sizeof *x->kids * (x->n + 1));
    if (x->n > 0) /* pdata is NULL while the array has never held anything */
        memcpy(x->kids, r->kids->pdata + mark, sizeof *x->kids * x->n);
    g_ptr_array_set_size(r->kids, mark);
    if (object) {
        uint32_t nn = r->names->len - nmark;
        x->names = arena_alloc(r, sizeof *x->names * (nn + 1));
        if (nn > 0)
            memcpy(x->names, r->names->pdata + nmark, sizeof *x->names * nn);
        g_ptr_array_set_size(r->names, nmark);
        if (nn != x->n) /* a name without its value (error): keep the shorter count */
            x->n = MIN(x->n, nn);
    }
    v->depth--;
    return ok;
}

static const cs_jv *parse_value(vp *v)
{
    vp_ws(v);
    if (v->p >= v->lim) {
        fail(v->r, "unexpected end of input");
        return NULL;
    }
    cs_jv *x = arena_alloc(v->r, sizeof *x);
    memset(x, 0, sizeof *x);
    char c = *v->p;
    bool ok;
    if (c == '{' || c == '[') {
        ok = parse_container(v, x, c == '{');
    } else if (c == '"') {
        ok = parse_string(v, v->r->sbuf);
        x->kind = 's';
        x->text = arena_str(v->r, v->r->sbuf->str, v->r->sbuf->len);
        x->len = (uint32_t)v->r->sbuf->len;
    } else if (literal(v, "true") || literal(v, "false")) {
        x->kind = 'b';
        x->b = v->p[-1] == 'e' && v->p[-2] == 'u';
        ok = true;
    } else if (literal(v, "null")) {
        x->kind = 'z';
        ok = true;
    } else {
        ok = parse_number(v, x);
    }
    return ok ? x : NULL;
}

/* ---- the pull interface -------------------------------------------------------------------- */

char cs_jr_peek(cs_jr *r)
{
    if (r->err != NULL)
        return 0;
    return skip_ws(r);
}

static bool begin(cs_jr *r, char open, char kind)
{
    char c = cs_jr_peek(r);
    if (c != open) {
        fail(r, c == 0        ? "unexpected end of input"
                : kind == 'o' ? "expected an object"
                              : "expected an array");
        return false;
    }
    if (r->depth >= MAX_DEPTH) {
        fail(r, "nested too deeply");
        return false;
    }
    r->stack[r->depth].kind = kind;
    r->stack[r->depth].count = 0;
    r->depth++;
    r->pos++;
    return true;
}

bool cs_jr_obj_begin(cs_jr *r)
{
    return begin(r, '{', 'o');
}

bool cs_jr_arr_begin(cs_jr *r)
{
    return begin(r, '[', 'a');
}

/* Shared by member() and elem(): 0 at the closing bracket, 1 when an item follows, -1 error. */
static int next_item(cs_jr *r, char kind)
{
    if (r->err != NULL || r->depth == 0 || r->stack[r->depth - 1].kind != kind)
        return -1;
    frame *f = &r->stack[r->depth - 1];
    char close = kind == 'o' ? '}' : ']';
    char c = skip_ws(r);
    if (c == close && f->count == 0) {
        r->pos++;
        r->depth--;
        return 0;
    }
    if (f->count > 0) {
        if (c == close) {
            r->pos++;
            r->depth--;
            return 0;
        }
        if (c != ',') {
            fail(r, c == 0        ? "unexpected end of input"
                    : kind == 'o' ? "expected ',' or '}'"
                                  : "expected ',' or ']'");
            return -1;
        }
        r->pos++;
    }
    f->count++;
    return 1;
}

int cs_jr_member(cs_jr *r, const char **name)
{
    int k = next_item(r, 'o');
    if (k != 1)
        return k;
    if (skip_ws(r) != '"') {
        fail(r, "expected a member name");
        return -1;
    }
    size_t n = extent(r);
    if (n == 0)
        return -1;
    vp v = {r, r->buf + r->pos, r->buf + r->pos + n, r->depth};
    if (!parse_string(&v, r->name_buf))
        return -1;
    r->pos += n;
    if (skip_ws(r) != ':') {
        fail(r, "expected ':'");
        return -1;
    }
    r->pos++;
    *name = r->name_buf->str;
    return 1;
}

int cs_jr_elem(cs_jr *r)
{
    return next_item(r, 'a');
}

const cs_jv *cs_jr_value(cs_jr *r)
{
    arena_reset(r);
    char c = cs_jr_peek(r);
    if (c == 0) {
        fail(r, "unexpected end of input");
        return NULL;
    }
    size_t n = extent(r);
    if (n == 0)
        return NULL;
    vp v = {r, r->buf + r->pos, r->buf + r->pos + n, r->depth};
    const cs_jv *x = parse_value(&v);
    if (x == NULL)
        return NULL;
    if (v.p != v.lim) {
        fail(r, "unexpected character");
        return NULL;
    }
    r->pos += n;
    return x;
}

bool cs_jr_skip(cs_jr *r)
{
    char c = cs_jr_peek(r);
    if (c != '{' && c != '[')
        return cs_jr_value(r) != NULL;
    /* containers item by item, so that skipping a long array needs no memory */
    bool object = c == '{';
    if (!(object ? cs_jr_obj_begin(r) : cs_jr_arr_begin(r)))
        return false;
    const char *name;
    int k;
    while ((k = object ? cs_jr_member(r, &name) : cs_jr_elem(r)) == 1)
        if (!cs_jr_skip(r))
            return false;
    return k == 0;
}

bool cs_jr_at_end(cs_jr *r)
{
    if (r->err != NULL)
        return false;
    if (skip_ws(r) != 0) {
        fail(r, "text after the JSON value");
        return false;
    }
    return r->err == NULL;
}

const char *cs_jr_error(const cs_jr *r)
{
    return r->err;
}

int cs_jr_error_line(const cs_jr *r)
{
    return r->err_line;
}

bool cs_jr_io_error(const cs_jr *r)
{
    return r->io_err;
}

uint64_t cs_jr_offset(const cs_jr *r)
{
    return r->base + r->pos;
}

const cs_jv *cs_jv_member(const cs_jv *o, const char *name)
{
    if (o == NULL || o->kind != 'o')
        return NULL;
    for (uint32_t i = 0; i < o->n; i++)
        if (strcmp(o->names[i], name) == 0)
            return o->kids[i];
    return NULL;
}
