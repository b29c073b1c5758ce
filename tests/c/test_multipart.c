/* Unit tests for src/multipart.c: the streaming multipart/form-data parser,
 * its parameter reader and its error texts. Every piece fed to the parser
 * sits right before a guard page, so an over-read crashes; every body is
 * also fed split at each byte offset and byte by byte, and must give the
 * same events as in one piece. The expected outcomes are python-multipart's
 * (what FastAPI answers), checked against real FastAPI by
 * tests/py/test_uploads.py. */
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <fcntl.h>

#define S(lit) lit, sizeof(lit) - 1

static fr_str view(const char *p, size_t n) {
    fr_str s;
    s.buf = p;
    s.len = n;
    return s;
}

/* ---- a transcript of the events ---- */

typedef struct tr {
    fr_buf out;
    int pause_on; /* event to pause on (0: never) */
    int abort_on; /* event to abort on (0: never) */
    int sink_fd;  /* >= 0: file parts go there */
} tr;

static void tr_str(fr_buf *b, fr_str s) {
    if (!s.buf) fr_buf_append_str(b, "-");
    else fr_buf_append(b, s.buf, s.len);
}

static int on_event(fr_mp *p, int ev, fr_str data, void *ud) {
    tr *t = (tr *)ud;
    size_t i;
    switch (ev) {
    case FR_MP_EV_PART:
        fr_buf_append_str(&t->out, "[name=");
        tr_str(&t->out, p->part.name);
        fr_buf_append_str(&t->out, ";file=");
        tr_str(&t->out, p->part.filename);
        fr_buf_append_str(&t->out, ";ct=");
        tr_str(&t->out, p->part.content_type);
        fr_buf_printf(&t->out, ";h=%u", (unsigned)p->part.num_headers);
        for (i = 0; i < p->part.num_headers; i++) {
            fr_buf_append_char(&t->out, ';');
            tr_str(&t->out, p->part.headers[i].name);
            fr_buf_append_char(&t->out, '=');
            tr_str(&t->out, p->part.headers[i].value);
        }
        fr_buf_append_str(&t->out, "]");
        if (t->sink_fd >= 0 && p->part.is_file && fr_mp_sink_fd(p, t->sink_fd) != 0) return -1;
        break;
    case FR_MP_EV_DATA:
        if (!data.len || !data.buf) fr_buf_append_str(&t->out, "<EMPTY DATA!>");
        fr_buf_append(&t->out, data.buf, data.len);
        break;
    case FR_MP_EV_PART_END:
        fr_buf_printf(&t->out, "<%llu>", (unsigned long long)p->part.size);
        break;
    case FR_MP_EV_END:
        fr_buf_append_str(&t->out, "<END>");
        break;
    }
    if (ev == t->abort_on) return -7;
    return ev == t->pause_on ? FR_MP_PAUSE : 0;
}

/* Feed body in pieces (cuts: piece sizes, 0-terminated; NULL = one piece;
 * a piece size of -1 = byte by byte to the end), each piece in its own
 * guarded copy. Appends "<ERR code>" or "<OK>"/"<FIN code>" to the transcript. */
static char *run(const char *body, size_t n, const size_t *cuts, const fr_mp_limits *lim, int sink_fd,
                 size_t *olen) {
    fr_mp *p = (fr_mp *)malloc(sizeof *p);
    tr t;
    size_t off = 0, ci = 0;
    int failed = 0;
    memset(&t, 0, sizeof t);
    t.sink_fd = sink_fd;
    if (!p || fr_mp_init(p, fr_str_c("XyZ"), lim, on_event, &t) != 0) abort();
    while (off < n && !failed) {
        size_t k = cuts && cuts[ci] ? cuts[ci++] : n - off;
        char *piece;
        long r;
        if (cuts && k == (size_t)-1) {
            k = 1;
            ci--;
        }
        if (k > n - off) k = n - off;
        piece = (char *)frt_guarded(body + off, k);
        r = fr_mp_feed(p, piece, k);
        frt_guarded_free(piece, k);
        if (r < 0) {
            fr_buf_printf(&t.out, "<ERR %d>", p->err.code);
            failed = 1;
        } else if ((size_t)r != k) {
            fr_buf_append_str(&t.out, "<SHORT>");
            failed = 1;
        }
        off += k;
    }
    if (!failed) {
        if (fr_mp_finish(p) == 0) fr_buf_append_str(&t.out, "<OK>");
        else fr_buf_printf(&t.out, "<FIN %d>", p->err.code);
    }
    free(p);
    fr_buf_append_char(&t.out, 0);
    *olen = t.out.len - 1;
    return t.out.buf;
}

/* The transcript of body fed in one piece equals `want`, and so do the
 * transcripts for every two-piece split, every three-piece split with a
 * 1..3-byte middle, and byte by byte. */
static int same_every_split(const char *body, size_t n, const fr_mp_limits *lim, const char *want) {
    size_t wl = strlen(want), ol, k, mid;
    char *o = run(body, n, NULL, lim, -1, &ol);
    int ok = ol == wl && memcmp(o, want, wl) == 0;
    if (!ok) fprintf(stderr, "one piece:\n got  %s\n want %s\n", o, want);
    free(o);
    for (k = 1; ok && k < n; k++) {
        for (mid = 0; ok && mid <= 3 && k + mid < n; mid++) {
            size_t cuts[4] = {k, mid, 0, 0};
            if (!mid) cuts[1] = 0;
            o = run(body, n, cuts, lim, -1, &ol);
            ok = ol == wl && memcmp(o, want, wl) == 0;
            if (!ok) fprintf(stderr, "split at %zu+%zu:\n got  %s\n want %s\n", k, mid, o, want);
            free(o);
        }
    }
    if (ok) {
        size_t cuts[2] = {(size_t)-1, 0};
        o = run(body, n, cuts, lim, -1, &ol);
        ok = ol == wl && memcmp(o, want, wl) == 0;
        if (!ok) fprintf(stderr, "byte by byte:\n got  %s\n want %s\n", o, want);
        free(o);
    }
    return ok;
}

/* CHECK(same_every_split(...)) without quoting the long literals */
static void expect_at(int line, const char *body, size_t n, const fr_mp_limits *lim, const char *want) {
    if (same_every_split(body, n, lim, want)) return;
    if (!frt__failed) snprintf(frt__msg, sizeof frt__msg, "%s:%d: events differ", __FILE__, line);
    frt__failed = 1;
}

#define EXPECT(body, want) expect_at(__LINE__, S(body), NULL, want)
#define EXPECT_LIM(body, lim, want) expect_at(__LINE__, S(body), lim, want)

#define CD "Content-Disposition: form-data; "

/* ---- well-formed bodies ---- */

static void test_field_and_file(void) {
    EXPECT("--XyZ\r\n" CD "name=\"a\"\r\n\r\nhello\r\n"
           "--XyZ\r\n" CD "name=\"up\"; filename=\"f.txt\"\r\nContent-Type: text/plain\r\n\r\nline1\r\nline2\r\n"
           "--XyZ--\r\n",
           "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=\"a\"]hello<5>"
           "[name=up;file=f.txt;ct=text/plain;h=2;Content-Disposition=form-data; name=\"up\"; "
           "filename=\"f.txt\";Content-Type=text/plain]line1\r\nline2<12><END><OK>");
}

static void test_empty_parts_and_form(void) {
    EXPECT("--XyZ--", "<END><OK>");
    EXPECT("--XyZ--\r\nepilogue --XyZ\r\n", "<END><OK>");
    EXPECT("--XyZ\r\n" CD "name=e\r\n\r\n\r\n--XyZ--", "[name=e;file=-;ct=-;h=1;Content-Disposition=form-data; name=e]<0><END><OK>");
    /* an empty filename is still a file */
    EXPECT("--XyZ\r\n" CD "name=f; filename=\"\"\r\n\r\n\r\n--XyZ--",
           "[name=f;file=;ct=-;h=1;Content-Disposition=form-data; name=f; filename=\"\"]<0><END><OK>");
}

/* Bytes that look like a delimiter but are not one stay data. */
static void test_delimiter_lookalikes(void) {
    EXPECT("--XyZ\r\n" CD "name=a\r\n\r\n"
           "x\r\n--XyZ-y\r\n--XyZz\r\n--XyZ\rq\r\n--Xy\r\r\n--XyZ\r\r\n-\r\n\r\r\n--XyZ-"
           "\r\n--XyZ--",
           "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=a]"
           "x\r\n--XyZ-y\r\n--XyZz\r\n--XyZ\rq\r\n--Xy\r\r\n--XyZ\r\r\n-\r\n\r\r\n--XyZ-<56><END><OK>");
    /* --XyZ not after CRLF, and a lone CR at the end of the data */
    EXPECT("--XyZ\r\n" CD "name=a\r\n\r\n--XyZ\r\n\r\r\n--XyZ--",
           "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=a]--XyZ\r\n\r<8><END><OK>");
}

static void test_preamble_padding_epilogue(void) {
    /* a leading CR/LF starts a preamble skipped up to the first '-' */
    EXPECT("\r\nfoo\r\n--XyZ\r\n" CD "name=a\r\n\r\nv\r\n--XyZ--",
           "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=a]v<1><END><OK>");
    /* transport padding after a delimiter */
    EXPECT("--XyZ\r\n" CD "name=a\r\n\r\nv\r\n--XyZ \t \r\n" CD "name=b\r\n\r\nw\r\n--XyZ--",
           "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=a]v<1>"
           "[name=b;file=-;ct=-;h=1;Content-Disposition=form-data; name=b]w<1><END><OK>");
}

static void test_headers(void) {
    /* spaces (not tabs) after ':' are skipped; trailing ones kept; names kept as sent */
    EXPECT("--XyZ\r\ncontent-disposition:   form-data; NAME=\"a\"  \r\nX-Tab:\tv\r\nx-e:\r\n\r\nq\r\n--XyZ--",
           "[name=a;file=-;ct=-;h=3;content-disposition=form-data; NAME=\"a\"  ;X-Tab=\tv;x-e=]q<1><END><OK>");
    /* a bare LF inside a value is part of it; the last Content-Disposition wins,
     * the first Content-Type */
    EXPECT("--XyZ\r\n" CD "name=a\r\nX: a\nb\r\nContent-Type: t1\r\nContent-Type: t2\r\n" CD "name=b\r\n\r\nq\r\n--XyZ--",
           "[name=b;file=-;ct=t1;h=5;Content-Disposition=form-data; name=a;X=a\nb;Content-Type=t1;"
           "Content-Type=t2;Content-Disposition=form-data; name=b]q<1><END><OK>");
    /* filename*= is ignored for the filename (RFC 7578 4.2), exposed raw */
    {
        static const char body[] = "--XyZ\r\n" CD "name=a; filename*=utf-8''%C3%A9.txt\r\n\r\nq\r\n--XyZ--";
        fr_mp p;
        fr_str d;
        size_t ofs = 0;
        fr_mp_init(&p, fr_str_c("XyZ"), NULL, NULL, NULL);
        CHECK_EQ_INT(fr_mp_next(&p, view(body, sizeof body - 1), &ofs, &d), 1);
        CHECK(!p.part.is_file && p.part.filename.buf == NULL);
        CHECK_EQ_MEM(p.part.filename_star.buf, p.part.filename_star.len, "utf-8''%C3%A9.txt");
    }
}

/* ---- malformed bodies: the error and where the events stopped ---- */

static void test_malformed(void) {
    EXPECT("garbage", "<ERR 3>");
    EXPECT("--XyZ\r\n" CD "name=a\r\n\r\nv\r\n--XyZ--", "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=a]v<1><END><OK>");
    EXPECT("--XyZ\n" CD "name=a\n\nv\n--XyZ--", "<ERR 3>");           /* LF-only lines */
    EXPECT("--XyZx\r\n", "<ERR 3>");
    EXPECT("--XyZ-x", "<ERR 3>");
    EXPECT("--XyZ\rx", "<ERR 3>");
    EXPECT("\r\nfoo-bar--XyZ\r\n", "<ERR 3>");                         /* preamble ends at the first '-' */
    EXPECT("--XyZ\r\nContent-Disposition form-data\r\n\r\n", "<ERR 3>"); /* no colon */
    EXPECT("--XyZ\r\n: v\r\n\r\n", "<ERR 3>");                           /* empty name */
    EXPECT("--XyZ\r\nBad Name: v\r\n\r\n", "<ERR 3>");
    EXPECT("--XyZ\r\nA: v\rX", "<ERR 3>");                               /* CR without LF */
    EXPECT("--XyZ\r\nA: v\r\n\rX", "<ERR 3>");
    EXPECT("--XyZ\r\n\r\nv\r\n--XyZ--", "<ERR 6>");                      /* no headers: no name */
    EXPECT("--XyZ\r\nContent-Type: text/plain\r\n\r\n", "<ERR 6>");
    EXPECT("--XyZ\r\n" CD "filename=\"f\"\r\n\r\n", "<ERR 6>");
    EXPECT("--XyZ\r\nContent-Disposition: form-data\r\n\r\n", "<ERR 6>");
    EXPECT("--XyZ\r\n" CD "name*=x\r\n\r\n", "<ERR 6>");
    /* padding must end in CRLF, and the closing delimiter takes none */
    EXPECT("--XyZ\r\n" CD "name=a\r\n\r\nv\r\n--XyZ  x", "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=a]v<ERR 3>");
    EXPECT("--XyZ\r\n" CD "name=a\r\n\r\nv\r\n--XyZ \r\r", "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=a]v<ERR 3>");
    EXPECT("--XyZ\r\n" CD "name=a\r\n\r\nv\r\n--XyZ --", "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=a]v<ERR 3>");
}

/* Input that stops early: fr_mp_finish reports it (FastAPI keeps the
 * complete parts and says nothing). */
static void test_truncated(void) {
    EXPECT("", "<FIN 10>");
    EXPECT("\r\n", "<FIN 10>");
    EXPECT("--Xy", "<FIN 10>");
    EXPECT("--XyZ\r\n" CD "na", "<FIN 10>");
    EXPECT("--XyZ\r\n" CD "name=a\r\n\r\nhello", "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=a]hello<FIN 10>");
    /* the held-back delimiter candidate is not data */
    EXPECT("--XyZ\r\n" CD "name=a\r\n\r\nhello\r\n--Xy", "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=a]hello<FIN 10>");
    EXPECT("--XyZ\r\n" CD "name=a\r\n\r\nhi\r\n--XyZ", "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=a]hi<FIN 10>");
    EXPECT("--XyZ\r\n" CD "name=a\r\n\r\nhi\r\n--XyZ\r\n", "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=a]hi<2><FIN 10>");
}

/* ---- limits ---- */

static char *repeat_parts(const char *part, size_t count, size_t *n) {
    size_t pl = strlen(part), i;
    char *b = (char *)malloc(pl * count + 8);
    for (i = 0; i < count; i++) memcpy(b + i * pl, part, pl);
    memcpy(b + pl * count, "--XyZ--", 7);
    *n = pl * count + 7;
    return b;
}

static int count_outcome(const char *body, size_t n, const fr_mp_limits *lim, const char *tail) {
    size_t ol, tl = strlen(tail);
    char *o = run(body, n, NULL, lim, -1, &ol);
    int ok = ol >= tl && memcmp(o + ol - tl, tail, tl) == 0;
    if (!ok) fprintf(stderr, "got ...%s\n", ol > 60 ? o + ol - 60 : o);
    free(o);
    return ok;
}

static void test_limits_fields_files(void) {
    size_t nf, ng, nk;
    fr_mp_limits lim;
    char *f = repeat_parts("--XyZ\r\n" CD "name=a\r\n\r\nv\r\n", 1001, &nf);
    char *g = repeat_parts("--XyZ\r\n" CD "name=u; filename=x\r\n\r\nv\r\n", 1001, &ng);
    char *k = repeat_parts("--XyZ\r\n" CD "name=a\r\n\r\nv\r\n", 1000, &nk);
    CHECK(count_outcome(f, nf, NULL, "<ERR 7>"));
    CHECK(count_outcome(k, nk, NULL, "]v<1><END><OK>"));
    CHECK(count_outcome(g, ng, NULL, "<ERR 8>"));
    memset(&lim, 0, sizeof lim);
    lim.max_fields = 1001;
    CHECK(count_outcome(f, nf, &lim, "<END><OK>"));
    lim.max_files = 1001;
    CHECK(count_outcome(g, ng, &lim, "<END><OK>"));
    lim.max_fields = FR_MP_ZERO;
    CHECK(count_outcome(f, nf, &lim, "<ERR 7>"));
    lim.max_fields = FR_MP_UNLIMITED;
    CHECK(count_outcome(f, nf, &lim, "<END><OK>"));
    free(k);
    free(f);
    free(g);
    memset(&lim, 0, sizeof lim);
    lim.max_fields = 1;
    lim.max_files = 1;
    EXPECT_LIM("--XyZ\r\n" CD "name=a\r\n\r\nv\r\n--XyZ\r\n" CD "name=u; filename=x\r\n\r\nw\r\n--XyZ\r\n" CD "name=b\r\n\r\n",
               &lim,
               "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=a]v<1>"
               "[name=u;file=x;ct=-;h=1;Content-Disposition=form-data; name=u; filename=x]w<1><ERR 7>");
}

static void test_limits_part_size(void) {
    fr_mp_limits lim;
    memset(&lim, 0, sizeof lim);
    lim.max_part_size = 5;
    EXPECT_LIM("--XyZ\r\n" CD "name=a\r\n\r\n12345\r\n--XyZ--", &lim,
               "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=a]12345<5><END><OK>");
    /* a field over the limit fails when its data is known (at the
     * delimiter or a piece's end), files are not limited */
    {
        static const char b[] = "--XyZ\r\n" CD "name=a\r\n\r\n123456\r\n--XyZ--";
        size_t ol;
        char *o = run(S(b), NULL, &lim, -1, &ol);
        CHECK(strcmp(o, "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=a]<ERR 9>") == 0);
        free(o);
    }
    EXPECT_LIM("--XyZ\r\n" CD "name=a; filename=b\r\n\r\n123456789\r\n--XyZ--", &lim,
               "[name=a;file=b;ct=-;h=1;Content-Disposition=form-data; name=a; filename=b]123456789<9><END><OK>");
    lim.max_part_size = FR_MP_ZERO;
    EXPECT_LIM("--XyZ\r\n" CD "name=a\r\n\r\n\r\n--XyZ--", &lim,
               "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=a]<0><END><OK>");
    {
        static const char b[] = "--XyZ\r\n" CD "name=a\r\n\r\nx\r\n--XyZ--";
        size_t ol;
        char *o = run(S(b), NULL, &lim, -1, &ol);
        CHECK(strstr(o, "<ERR 9>") != NULL);
        free(o);
    }
}

static void test_limits_headers(void) {
    char body[6000];
    size_t n, ol;
    char *o;
    fr_mp_limits lim;
    /* 8 header lines pass, the 9th fails */
    EXPECT("--XyZ\r\n" CD "name=a\r\nA: 1\r\nA: 2\r\nA: 3\r\nA: 4\r\nA: 5\r\nA: 6\r\nA: 7\r\n\r\nq\r\n--XyZ--",
           "[name=a;file=-;ct=-;h=8;Content-Disposition=form-data; name=a;A=1;A=2;A=3;A=4;A=5;A=6;A=7]q<1><END><OK>");
    EXPECT("--XyZ\r\n" CD "name=a\r\nA: 1\r\nA: 2\r\nA: 3\r\nA: 4\r\nA: 5\r\nA: 6\r\nA: 7\r\nA: 8\r\n\r\nq\r\n--XyZ--",
           "<ERR 5>");
    /* a line of exactly 4224 bytes (name + ':' + spaces + value) passes */
    n = (size_t)sprintf(body, "--XyZ\r\n" CD "name=a\r\nX-L:  ");
    memset(body + n, 'v', 4224 - 6);
    n += 4224 - 6;
    n += (size_t)sprintf(body + n, "\r\n\r\nq\r\n--XyZ--");
    o = run(body, n, NULL, NULL, -1, &ol);
    CHECK(strstr(o, "<END><OK>") != NULL);
    free(o);
    /* one byte more fails, wherever the byte is */
    n = (size_t)sprintf(body, "--XyZ\r\n" CD "name=a\r\nX-L:  ");
    memset(body + n, 'v', 4224 - 5);
    n += 4224 - 5;
    n += (size_t)sprintf(body + n, "\r\n\r\nq\r\n--XyZ--");
    o = run(body, n, NULL, NULL, -1, &ol);
    CHECK(strcmp(o, "<ERR 4>") == 0);
    free(o);
    memset(body, 'N', sizeof body);
    memcpy(body, "--XyZ\r\n", 7);
    memcpy(body + 7 + 4224, ": v\r\n\r\n", 7);
    o = run(body, 7 + 4224 + 7, NULL, NULL, -1, &ol);
    CHECK(strcmp(o, "<ERR 4>") == 0);
    free(o);
    /* runtime knobs lower them */
    memset(&lim, 0, sizeof lim);
    lim.max_headers = 1;
    EXPECT_LIM("--XyZ\r\n" CD "name=a\r\nA: 1\r\n\r\n", &lim, "<ERR 5>");
    lim.max_headers = 0;
    lim.max_header_bytes = 10;
    EXPECT_LIM("--XyZ\r\nA: 12345678\r\n", &lim, "<ERR 4>");
    EXPECT_LIM("--XyZ\r\nA: 1234567\r\n\r\n", &lim, "<ERR 6>");
}

static void test_boundary_init(void) {
    fr_mp p;
    char big[FR_MAX_MULTIPART_BOUNDARY + 1];
    memset(big, 'b', sizeof big);
    CHECK_EQ_INT(fr_mp_init(&p, view(big, FR_MAX_MULTIPART_BOUNDARY), NULL, NULL, NULL), 0);
    CHECK_EQ_INT(fr_mp_init(&p, view(big, sizeof big), NULL, NULL, NULL), -1);
    CHECK_EQ_INT(p.err.code, FR_MP_ERR_BOUNDARY);
    CHECK_EQ_INT(fr_mp_feed(&p, "x", 1), -1);
    CHECK_EQ_INT(fr_mp_init(&p, fr_str_c("a\r\nb"), NULL, NULL, NULL), -1);
    CHECK_EQ_INT(fr_mp_init(NULL, fr_str_c("a"), NULL, NULL, NULL), -1);
    /* an empty boundary is python-multipart's "\r\n--" delimiter */
    {
        static const char b[] = "--\r\n" CD "name=a\r\n\r\nv\r\n----";
        fr_str d;
        size_t ofs = 0;
        CHECK_EQ_INT(fr_mp_init(&p, view("", 0), NULL, NULL, NULL), 0);
        CHECK_EQ_INT(fr_mp_next(&p, view(b, sizeof b - 1), &ofs, &d), 1);
        CHECK_EQ_MEM(d.buf, d.len, "v");
        CHECK_EQ_INT(fr_mp_next(&p, view(b, sizeof b - 1), &ofs, &d), 0);
    }
}

/* ---- the iterator, pause, abort, the fd sink ---- */

static void test_next_iterator(void) {
    static const char b[] = "--XyZ\r\n" CD "name=a\r\n\r\nhello\r\n--XyZ\r\n" CD "name=e\r\n\r\n\r\n"
                            "--XyZ\r\n" CD "name=f; filename=\"C:\\\\dir\\\\x.bin\"\r\n\r\n\x00\r\x01\r\n--XyZ--";
    fr_mp *p = (fr_mp *)malloc(sizeof *p);
    char *g = (char *)frt_guarded(b, sizeof b - 1);
    fr_str body = view(g, sizeof b - 1), d;
    size_t ofs = 0;
    fr_mp_init(p, fr_str_c("XyZ"), NULL, NULL, NULL);
    CHECK_EQ_INT(fr_mp_next(p, body, &ofs, &d), 1);
    CHECK_EQ_MEM(p->part.name.buf, p->part.name.len, "a");
    CHECK_EQ_MEM(d.buf, d.len, "hello");
    CHECK(d.buf == strstr(g, "hello")); /* a view into the body */
    CHECK_EQ_INT(fr_mp_next(p, body, &ofs, &d), 1);
    CHECK_EQ_MEM(p->part.name.buf, p->part.name.len, "e");
    CHECK_EQ_INT(d.len, 0);
    CHECK_EQ_INT(fr_mp_next(p, body, &ofs, &d), 1);
    CHECK(p->part.is_file);
    CHECK_EQ_MEM(p->part.filename.buf, p->part.filename.len, "x.bin"); /* the IE path cut */
    CHECK_EQ_INT(d.len, 3); /* the last CR starts the delimiter */
    CHECK(memcmp(d.buf, "\x00\r\x01", 3) == 0);
    CHECK_EQ_INT(p->files, 1);
    CHECK_EQ_INT(p->fields, 2);
    CHECK_EQ_INT(fr_mp_next(p, body, &ofs, &d), 0);
    CHECK_EQ_INT(ofs, sizeof b - 1);
    CHECK_EQ_INT(fr_mp_next(p, body, &ofs, &d), 0);
    /* truncated and malformed bodies */
    fr_mp_init(p, fr_str_c("XyZ"), NULL, NULL, NULL);
    ofs = 0;
    CHECK_EQ_INT(fr_mp_next(p, view(g, 66), &ofs, &d), 1);
    CHECK_EQ_INT(fr_mp_next(p, view(g, 66), &ofs, &d), -1);
    CHECK_EQ_INT(p->err.code, FR_MP_ERR_TRUNCATED);
    fr_mp_init(p, fr_str_c("other"), NULL, NULL, NULL);
    ofs = 0;
    CHECK_EQ_INT(fr_mp_next(p, body, &ofs, &d), -1);
    CHECK_EQ_INT(p->err.code, FR_MP_ERR_SYNTAX);
    CHECK_EQ_INT(p->err.pos, 2);
    CHECK_EQ_INT(fr_mp_next(NULL, body, &ofs, &d), -1);
    frt_guarded_free(g, sizeof b - 1);
    free(p);
}

static void test_pause_and_abort(void) {
    static const char b[] = "--XyZ\r\n" CD "name=a\r\n\r\nv\r\n--XyZ\r\n" CD "name=b\r\n\r\nw\r\n--XyZ--tail";
    fr_mp p;
    tr t;
    long r;
    size_t off = 0, rounds = 0;
    memset(&t, 0, sizeof t);
    t.sink_fd = -1;
    t.pause_on = FR_MP_EV_PART;
    fr_mp_init(&p, fr_str_c("XyZ"), NULL, on_event, &t);
    while (off < sizeof b - 1 && rounds++ < 10) {
        r = fr_mp_feed(&p, b + off, sizeof b - 1 - off);
        REQUIRE(r >= 0);
        off += (size_t)r;
        fr_buf_append_str(&t.out, "|");
    }
    CHECK_EQ_INT(fr_mp_finish(&p), 0);
    fr_buf_append_char(&t.out, 0);
    CHECK(strcmp(t.out.buf, "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=a]|v<1>"
                            "[name=b;file=-;ct=-;h=1;Content-Disposition=form-data; name=b]|w<1><END>|") == 0);
    CHECK_EQ_INT(p.consumed, sizeof b - 1);
    fr_buf_free(&t.out);
    /* pause on the last PART_END: END comes with the next feed (even empty) */
    memset(&t, 0, sizeof t);
    t.sink_fd = -1;
    t.pause_on = FR_MP_EV_PART_END;
    fr_mp_init(&p, fr_str_c("XyZ"), NULL, on_event, &t);
    off = 0;
    CHECK_EQ_INT(fr_mp_feed(&p, b, sizeof b - 1), 59); /* up to the second part's headers */
    off = 59;
    r = fr_mp_feed(&p, b + off, sizeof b - 1 - off);
    CHECK_EQ_INT(r, sizeof b - 1 - 59 - 4); /* up to "tail" */
    CHECK_EQ_INT(fr_mp_feed(&p, "", 0), 0);
    CHECK_EQ_INT(fr_mp_finish(&p), 0);
    fr_buf_append_char(&t.out, 0);
    CHECK(strstr(t.out.buf, "w<1><END>") != NULL);
    fr_buf_free(&t.out);
    /* abort */
    memset(&t, 0, sizeof t);
    t.sink_fd = -1;
    t.abort_on = FR_MP_EV_DATA;
    fr_mp_init(&p, fr_str_c("XyZ"), NULL, on_event, &t);
    CHECK_EQ_INT(fr_mp_feed(&p, b, sizeof b - 1), -1);
    CHECK_EQ_INT(p.err.code, FR_MP_ERR_ABORTED);
    CHECK_EQ_INT(fr_mp_feed(&p, b, 1), -1);
    CHECK_EQ_INT(fr_mp_finish(&p), -1);
    fr_buf_free(&t.out);
    /* sink only during PART */
    CHECK_EQ_INT(fr_mp_sink_fd(&p, 1), -1);
    CHECK_EQ_INT(fr_mp_sink_fd(NULL, 1), -1);
}

static void test_sink_fd(void) {
    static const char b[] = "--XyZ\r\n" CD "name=a\r\n\r\nfield\r\n--XyZ\r\n" CD "name=f; filename=x\r\n\r\n"
                            "file\r\n--Xdata\r\n--XyZ\r\n" CD "name=g; filename=y\r\n\r\nmore\r\n--XyZ--";
    char path[] = "/tmp/frt_mp_XXXXXX", got[64];
    int fd = mkstemp(path);
    size_t ol, k;
    char *o;
    ssize_t n;
    REQUIRE(fd >= 0);
    unlink(path);
    for (k = 0; k < sizeof b - 1; k += 7) {
        size_t cuts[3] = {k ? k : 1, 3, 0};
        REQUIRE(ftruncate(fd, 0) == 0);
        REQUIRE(lseek(fd, 0, SEEK_SET) == 0);
        o = run(S(b), cuts, NULL, fd, &ol);
        /* file data went to fd, not to the callback; sizes still counted */
        CHECK(strcmp(o, "[name=a;file=-;ct=-;h=1;Content-Disposition=form-data; name=a]field<5>"
                        "[name=f;file=x;ct=-;h=1;Content-Disposition=form-data; name=f; filename=x]<13>"
                        "[name=g;file=y;ct=-;h=1;Content-Disposition=form-data; name=g; filename=y]<4><END><OK>") == 0);
        free(o);
        n = pread(fd, got, sizeof got, 0);
        CHECK_EQ_INT(n, 17);
        CHECK(n == 17 && memcmp(got, "file\r\n--Xdatamore", 17) == 0);
    }
    close(fd);
    /* a failing write is FR_MP_ERR_IO */
    {
        int ro = open("/dev/null", O_RDONLY);
        REQUIRE(ro >= 0);
        o = run(S(b), NULL, NULL, ro, &ol);
        CHECK(strstr(o, "<ERR 12>") != NULL);
        free(o);
        close(ro);
    }
}

/* ---- parameters, boundary, media type, error texts ---- */

static int param_is(const char *value, const char *key, int want_rc, const char *want) {
    char out[64];
    fr_str v = {NULL, 0};
    char *g = (char *)frt_guarded(value, strlen(value));
    int rc = fr_mp_param(view(g, strlen(value)), key, out, sizeof out, &v);
    int ok = rc == want_rc && (rc != 1 || (v.len == strlen(want) && memcmp(v.buf, want, v.len) == 0));
    if (!ok) fprintf(stderr, "param %s of [%s]: rc %d \"%.*s\"\n", key, value, rc, (int)v.len, v.buf);
    frt_guarded_free(g, strlen(value));
    return ok;
}

/* Expected values are python_multipart.multipart.parse_options_header's. */
static void test_param(void) {
    CHECK(param_is("form-data; name=\"a;b\"; filename=\"x\"", "name", 1, "a;b"));
    CHECK(param_is("form-data; name=\"a;b\"; filename=\"x\"", "filename", 1, "x"));
    CHECK(param_is("form-data; name=\"a\\\";b\"; x=1", "name", 1, "a\";b"));
    CHECK(param_is("form-data; name=\"a\\\";b\"; x=1", "x", 1, "1"));
    CHECK(param_is("a; b=\"x;y", "b", 1, "\"x;y"));
    CHECK(param_is("a;;b=1; ;c", "c", 1, ""));
    CHECK(param_is("a;;b=1; ;c", "", 1, ""));
    CHECK(param_is("form-data; filename; name=x", "filename", 1, ""));
    CHECK(param_is("form-data; FILENAME; name=x", "filename", 0, ""));
    CHECK(param_is("x; NAME = \"v\" ", "name", 1, "v"));
    CHECK(param_is("x; name=\"a\"b\"", "name", 1, "a\"b"));
    CHECK(param_is("x; name=\"\\\\\\\\srv\\\\f\"", "name", 1, "\\\\srv\\f"));
    CHECK(param_is("x; filename=\"\\\\\\\\srv\\\\f\"", "filename", 1, "f"));
    CHECK(param_is("x; filename=\"\\\\\\\\\\\\srv\\\\f\"", "filename", 1, "f"));
    CHECK(param_is("x; filename=\"\\\\\\\\\"", "filename", 1, ""));
    CHECK(param_is("x; filename=\"C:\\\\Users\\\\me\\\\a.txt\"", "filename", 1, "a.txt"));
    CHECK(param_is("x; filename=C:\\dir\\b.txt", "filename", 1, "b.txt"));
    CHECK(param_is("x; filename=C:/dir/b.txt", "filename", 1, "C:/dir/b.txt"));
    CHECK(param_is("x; name=1; name=2", "name", 1, "2"));
    CHECK(param_is("x; filename*=utf-8''a; filename=b", "filename", 1, "b"));
    CHECK(param_is("x; filename*=utf-8''a", "filename", 0, ""));
    CHECK(param_is("x; filename*=utf-8''a", "filename*", 0, ""));
    CHECK(param_is("x; name=\"\"", "name", 1, ""));
    CHECK(param_is("x; name=\"", "name", 1, "\""));
    CHECK(param_is("name=x", "name", 0, ""));
    CHECK(param_is("x", "x", 0, ""));
    CHECK(param_is("", "name", 0, ""));
    CHECK(param_is("x; \"a;b\"=1; c=2", "c", 1, "2"));
    CHECK(param_is("x; b=\"1\\\\\"; c=2", "c", 0, "")); /* \\" is an escaped quote for the split */
    CHECK(param_is("x; b=\"1\\\\\"; c=2", "b", 1, "\"1\\\\\"; c=2"));
    {
        char out[4];
        fr_str v;
        CHECK_EQ_INT(fr_mp_param(fr_str_c("x; n=\"12345\""), "n", out, sizeof out, &v), -1);
        CHECK_EQ_INT(fr_mp_param(fr_str_c("x; n=\"1234\""), "n", out, sizeof out, &v), 1);
        CHECK_EQ_INT(fr_mp_param(view(NULL, 0), "n", out, sizeof out, &v), 0);
    }
}

static void test_boundary_and_type(void) {
    char out[FR_MAX_MULTIPART_BOUNDARY];
    fr_str b;
    CHECK_EQ_INT(fr_mp_boundary(fr_str_c("multipart/form-data; boundary=XyZ"), out, sizeof out, &b), 1);
    CHECK_EQ_MEM(b.buf, b.len, "XyZ");
    CHECK_EQ_INT(fr_mp_boundary(fr_str_c("multipart/form-data; Boundary=\"a b\"; charset=utf-8"), out, sizeof out, &b), 1);
    CHECK_EQ_MEM(b.buf, b.len, "a b");
    CHECK_EQ_INT(fr_mp_boundary(fr_str_c("multipart/form-data; boundary="), out, sizeof out, &b), 1);
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_INT(fr_mp_boundary(fr_str_c("multipart/form-data"), out, sizeof out, &b), 0);
    CHECK_EQ_INT(fr_mp_boundary(fr_str_c("multipart/form-data; boundary*=x"), out, sizeof out, &b), 0);
    CHECK_EQ_INT(fr_mp_boundary(view(NULL, 0), out, sizeof out, &b), 0);
    CHECK_EQ_INT(fr_mp_form_type(fr_str_c("multipart/form-data; boundary=x")), FR_MP_FORM_DATA);
    CHECK_EQ_INT(fr_mp_form_type(fr_str_c(" \tMultipart/Form-Data\t ")), FR_MP_FORM_DATA);
    CHECK_EQ_INT(fr_mp_form_type(fr_str_c("multipart/form-data ;x")), FR_MP_FORM_DATA);
    CHECK_EQ_INT(fr_mp_form_type(fr_str_c("multipart/form-datax")), 0);
    CHECK_EQ_INT(fr_mp_form_type(fr_str_c("multipart/mixed; boundary=x")), 0);
    CHECK_EQ_INT(fr_mp_form_type(fr_str_c("\nmultipart/form-data")), 0);
    CHECK_EQ_INT(fr_mp_form_type(view(NULL, 0)), 0);
    CHECK_EQ_INT(fr_mp_form_type(fr_str_c("Application/X-WWW-Form-Urlencoded; charset=x")), FR_MP_FORM_URLENCODED);
    CHECK_EQ_INT(fr_mp_form_type(fr_str_c("application/x-www-form-urlencoded+x")), 0);
}

static void test_error_text(void) {
    char out[128], tiny[8];
    fr_mp_limits lim;
    memset(&lim, 0, sizeof lim);
    fr_mp_error_text(FR_MP_ERR_NO_BOUNDARY, NULL, out, sizeof out);
    CHECK(strcmp(out, "Missing boundary in multipart.") == 0);
    fr_mp_error_text(FR_MP_ERR_SYNTAX, NULL, out, sizeof out);
    CHECK(strcmp(out, "Invalid multipart data.") == 0);
    fr_mp_error_text(FR_MP_ERR_HEADER_COUNT, NULL, out, sizeof out);
    CHECK(strcmp(out, "Invalid multipart data.") == 0);
    fr_mp_error_text(FR_MP_ERR_NO_NAME, NULL, out, sizeof out);
    CHECK(strcmp(out, "The Content-Disposition header field \"name\" must be provided.") == 0);
    fr_mp_error_text(FR_MP_ERR_FIELDS, NULL, out, sizeof out);
    CHECK(strcmp(out, "Too many fields. Maximum number of fields is 1000.") == 0);
    fr_mp_error_text(FR_MP_ERR_FILES, NULL, out, sizeof out);
    CHECK(strcmp(out, "Too many files. Maximum number of files is 1000.") == 0);
    CHECK_EQ_INT(fr_mp_error_text(FR_MP_ERR_PART_SIZE, NULL, out, sizeof out), 37);
    CHECK(strcmp(out, "Part exceeded maximum size of 1024KB.") == 0);
    lim.max_part_size = 2047;
    lim.max_fields = FR_MP_ZERO;
    fr_mp_error_text(FR_MP_ERR_PART_SIZE, &lim, out, sizeof out);
    CHECK(strcmp(out, "Part exceeded maximum size of 1KB.") == 0);
    fr_mp_error_text(FR_MP_ERR_FIELD_SIZE, &lim, out, sizeof out);
    CHECK(strcmp(out, "Field exceeded maximum size of 1KB.") == 0);
    fr_mp_error_text(FR_MP_ERR_FIELDS, &lim, out, sizeof out);
    CHECK(strcmp(out, "Too many fields. Maximum number of fields is 0.") == 0);
    fr_mp_error_text(FR_MP_ERR_FILES, &lim, out, sizeof out); /* 0: the default */
    CHECK(strcmp(out, "Too many files. Maximum number of files is 1000.") == 0);
    fr_mp_error_text(FR_MP_ERR_TRUNCATED, NULL, out, sizeof out);
    CHECK(strcmp(out, "There was an error parsing the body") == 0);
    CHECK_EQ_INT(fr_mp_error_text(FR_MP_ERR_SYNTAX, NULL, tiny, sizeof tiny), 7);
    CHECK(strcmp(tiny, "Invalid") == 0);
    CHECK_EQ_INT(fr_mp_error_text(FR_MP_ERR_SYNTAX, NULL, NULL, 0), 0);
    /* the resolved limits of a parser */
    {
        fr_mp p;
        lim.max_fields = FR_MP_ZERO;
        lim.max_files = 7;
        lim.max_headers = 100;
        fr_mp_init(&p, fr_str_c("b"), &lim, NULL, NULL);
        CHECK_EQ_INT(p.lim.max_fields, 0);
        CHECK_EQ_INT(p.lim.max_files, 7);
        CHECK_EQ_INT(p.lim.max_part_size, 2047);
        CHECK_EQ_INT(p.lim.max_headers, FR_MAX_MULTIPART_HEADERS);
        CHECK_EQ_INT(p.lim.max_header_bytes, FR_MAX_MULTIPART_HEADER_BYTES);
    }
}

/* A 3 MB file with CRs and partial delimiters everywhere, fed in uneven
 * pieces: the data comes out intact. */
static void test_large_random(void) {
    size_t n = 3 * 1024 * 1024, i, hl, total, off = 0, ol;
    unsigned s = 12345;
    char *data = (char *)malloc(n), *body = (char *)malloc(n + 256), *o;
    size_t cuts[] = {1, 4093, 7, 65536, 3, 100000, 0};
    for (i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        data[i] = (char)(s >> 16);
        if ((s & 0x3ff) == 7) data[i] = '\r';
        if ((s & 0xfff) == 9 && i + 6 < n) {
            memcpy(data + i, "\r\n--Xy", 6);
            i += 5;
        }
    }
    hl = (size_t)sprintf(body, "--XyZ\r\n" CD "name=f; filename=r\r\n\r\n");
    memcpy(body + hl, data, n);
    total = hl + n;
    memcpy(body + total, "\r\n--XyZ--\r\n", 11);
    total += 11;
    o = run(body, total, cuts, NULL, -1, &ol);
    off = strlen("[name=f;file=r;ct=-;h=1;Content-Disposition=form-data; name=f; filename=r]");
    CHECK(ol == off + n + strlen("<3145728><END><OK>"));
    CHECK(ol > off + n && memcmp(o + off, data, n) == 0);
    CHECK(strcmp(o + off + n, "<3145728><END><OK>") == 0);
    free(o);
    free(data);
    free(body);
}

/* Starlette's FormParser limits on urlencoded bodies. */
static void test_urlencoded_check(void) {
    fr_mp_limits lim;
    char big[64];
    memset(&lim, 0, sizeof lim);
    CHECK_EQ_INT(fr_mp_urlencoded_check(fr_str_c("a=1&b=2"), NULL), 0);
    CHECK_EQ_INT(fr_mp_urlencoded_check(view(NULL, 0), NULL), 0);
    lim.max_fields = 2;
    CHECK_EQ_INT(fr_mp_urlencoded_check(fr_str_c("a=1&&b=2&&&"), &lim), 0); /* empty runs are no fields */
    CHECK_EQ_INT(fr_mp_urlencoded_check(fr_str_c("a=1&b=2&c"), &lim), FR_MP_ERR_FIELDS);
    CHECK_EQ_INT(fr_mp_urlencoded_check(fr_str_c("a=1&b=2&="), &lim), FR_MP_ERR_FIELDS);
    lim.max_fields = FR_MP_ZERO;
    CHECK_EQ_INT(fr_mp_urlencoded_check(fr_str_c("&&"), &lim), 0);
    CHECK_EQ_INT(fr_mp_urlencoded_check(fr_str_c("x"), &lim), FR_MP_ERR_FIELDS);
    memset(&lim, 0, sizeof lim);
    lim.max_part_size = 5;
    CHECK_EQ_INT(fr_mp_urlencoded_check(fr_str_c("ab=cde&abcde&a=b=c="), &lim), 0); /* the first '=' is free */
    CHECK_EQ_INT(fr_mp_urlencoded_check(fr_str_c("ok&abcdef"), &lim), FR_MP_ERR_FIELD_SIZE);
    CHECK_EQ_INT(fr_mp_urlencoded_check(fr_str_c("a==cdef"), &lim), FR_MP_ERR_FIELD_SIZE);
    /* the size error of a field comes before the count error it would also cause */
    lim.max_fields = 1;
    CHECK_EQ_INT(fr_mp_urlencoded_check(fr_str_c("a=1&abcdef"), &lim), FR_MP_ERR_FIELD_SIZE);
    CHECK_EQ_INT(fr_mp_urlencoded_check(fr_str_c("a=1&abc"), &lim), FR_MP_ERR_FIELDS);
    memset(big, 'x', sizeof big);
    {
        char *g = (char *)frt_guarded(big, sizeof big);
        CHECK_EQ_INT(fr_mp_urlencoded_check(view(g, sizeof big), &lim), FR_MP_ERR_FIELD_SIZE);
        lim.max_part_size = 64;
        CHECK_EQ_INT(fr_mp_urlencoded_check(view(g, sizeof big), &lim), 0);
        frt_guarded_free(g, sizeof big);
    }
}

static const frt_case frt_cases[] = {
    FRT(test_field_and_file), FRT(test_empty_parts_and_form), FRT(test_delimiter_lookalikes),
    FRT(test_preamble_padding_epilogue), FRT(test_headers), FRT(test_malformed), FRT(test_truncated),
    FRT(test_limits_fields_files), FRT(test_limits_part_size), FRT(test_limits_headers),
    FRT(test_boundary_init), FRT(test_next_iterator), FRT(test_pause_and_abort), FRT(test_sink_fd),
    FRT(test_param), FRT(test_boundary_and_type), FRT(test_error_text), FRT(test_large_random),
    FRT(test_urlencoded_check)};
FRT_MAIN()
