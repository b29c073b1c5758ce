/* ---- json.c ---- */
#include "internal.h"

#include <float.h>

/* One validating reader drives both faces: fr_json_parse_events() calls the
 * user's callbacks, fr_json_parse() is a callback client that builds the DOM
 * in an arena. The reader is a goto state machine with an explicit bit stack
 * of open containers (no recursion), so nesting costs one bit per level and
 * the depth limit is the only bound.
 *
 * Numbers never go through the locale: integers are accumulated by hand;
 * doubles take Clinger's exact fast path (<= 2^53 mantissa, |exp| <= 22),
 * then a 128-bit multiply by a power-of-5 table that answers whenever the
 * rounding is certain (almost always), and only otherwise strtod() on a
 * canonical "DIGITSe-EXP" string, which contains no decimal point and
 * therefore means the same thing in every locale.
 *
 * The writer prints doubles with the shortest digits (yy/zmij's one-multiply
 * path, Schubfach where that cannot decide; its own table of 128-bit powers
 * of ten), formatted like CPython's repr(float). */

/* ------------------------------------------------------------------ */
/* UTF-8                                                               */
/* ------------------------------------------------------------------ */

/* Length (2..4) of the well-formed multi-byte sequence at p (p[0] >= 0x80),
 * or 0 if it is ill-formed: stray continuation, overlong, UTF-16 surrogate,
 * beyond U+10FFFF, or truncated by `end`. (Unicode table 3-7.) */
static size_t fr__utf8_seq(const unsigned char *p, const unsigned char *end) {
    unsigned c = p[0], c1;
    size_t avail = (size_t)(end - p);
    if (c < 0xC2) return 0; /* continuation byte or overlong 2-byte lead */
    if (c < 0xE0) return (avail >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c < 0xF0) {
        if (avail < 3) return 0;
        c1 = p[1];
        if (c == 0xE0) {
            if (c1 < 0xA0 || c1 > 0xBF) return 0; /* overlong */
        } else if (c == 0xED) {
            if (c1 < 0x80 || c1 > 0x9F) return 0; /* surrogates D800..DFFF */
        } else if ((c1 & 0xC0) != 0x80) {
            return 0;
        }
        return (p[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c < 0xF5) {
        if (avail < 4) return 0;
        c1 = p[1];
        if (c == 0xF0) {
            if (c1 < 0x90 || c1 > 0xBF) return 0; /* overlong */
        } else if (c == 0xF4) {
            if (c1 < 0x80 || c1 > 0x8F) return 0; /* > U+10FFFF */
        } else if ((c1 & 0xC0) != 0x80) {
            return 0;
        }
        return ((p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80) ? 4 : 0;
    }
    return 0;
}

/* Word-at-a-time scanning: does any byte of x need attention inside a JSON
 * string ('"', '\\', < 0x20, >= 0x80)? Exact as a yes/no answer. */
#define FR__J_ONES 0x0101010101010101ULL
#define FR__J_HIGH 0x8080808080808080ULL
static inline uint64_t fr__json_special8(uint64_t x) {
    uint64_t q = x ^ (FR__J_ONES * 0x22u), b = x ^ (FR__J_ONES * 0x5Cu);
    return ((q - FR__J_ONES) & ~q) | ((b - FR__J_ONES) & ~b) |
           ((x - FR__J_ONES * 0x20u) & ~x) | x;
}
#define FR__J_SPECIAL(x) (fr__json_special8(x) & FR__J_HIGH)

static inline uint64_t fr__load8(const unsigned char *p) {
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

/* Advance p to the first byte that needs attention, or to within 8 bytes of
 * end. Borrows in the mask only run upwards from a real hit, so its lowest
 * set bit marks the first special byte exactly (little-endian loads). */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline const unsigned char *fr__json_skip_plain(const unsigned char *p,
                                                       const unsigned char *end) {
    while ((size_t)(end - p) >= 8) {
        uint64_t m = FR__J_SPECIAL(fr__load8(p));
        if (m) return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
    return p;
}
#else
static inline const unsigned char *fr__json_skip_plain(const unsigned char *p,
                                                       const unsigned char *end) {
    while ((size_t)(end - p) >= 8 && !FR__J_SPECIAL(fr__load8(p))) p += 8;
    return p;
}
#endif

/* ------------------------------------------------------------------ */
/* powers of five (the reader's)                                       */
/* ------------------------------------------------------------------ */

/* fr__j_pow5[i]     = 5^i scaled to exactly 125 bits, truncated (floor);
 * fr__j_pow5_inv[q] = ceil(2^(bits(5^q) - 1 + 125) / 5^q), also 125 bits.
 * Stored {low, high}. Generated with exact integers in Python. */
static const uint64_t fr__j_pow5_inv[291][2] = {
    {0x0000000000000001ULL, 0x2000000000000000ULL},
    {0x999999999999999aULL, 0x1999999999999999ULL},
    {0x47ae147ae147ae15ULL, 0x147ae147ae147ae1ULL},
    {0x6c8b4395810624deULL, 0x10624dd2f1a9fbe7ULL},
    {0x7a786c226809d496ULL, 0x1a36e2eb1c432ca5ULL},
    {0x61f9f01b866e43abULL, 0x14f8b588e368f084ULL},
    {0xb4c7f34938583622ULL, 0x10c6f7a0b5ed8d36ULL},
    {0x87a6520ec08d236aULL, 0x1ad7f29abcaf4857ULL},
    {0x9fb841a566d74f88ULL, 0x15798ee2308c39dfULL},
    {0xe62d01511f12a607ULL, 0x112e0be826d694b2ULL},
    {0xd6ae6881cb5109a4ULL, 0x1b7cdfd9d7bdbab7ULL},
    {0xdef1ed34a2a73aeaULL, 0x15fd7fe17964955fULL},
    {0x7f27f0f6e885c8bbULL, 0x119799812dea1119ULL},
    {0x650cb4be40d60df8ULL, 0x1c25c268497681c2ULL},
    {0xea70909833de7193ULL, 0x16849b86a12b9b01ULL},
    {0x21f3a6e0297ec143ULL, 0x1203af9ee756159bULL},
    {0x6985d7cd0f313537ULL, 0x1cd2b297d889bc2bULL},
    {0x2137dfd73f5a90f9ULL, 0x170ef54646d49689ULL},
    {0xe75fe645cc4873faULL, 0x12725dd1d243aba0ULL},
    {0xa5663d3c7a0d865dULL, 0x1d83c94fb6d2ac34ULL},
    {0x511e976394d79eb1ULL, 0x179ca10c9242235dULL},
    {0xda7edf82dd794bc1ULL, 0x12e3b40a0e9b4f7dULL},
    {0x2a6498d1625bac68ULL, 0x1e392010175ee596ULL},
    {0xeeb6e0a781e2f053ULL, 0x182db34012b25144ULL},
    {0x58924d52ce4f26a9ULL, 0x1357c299a88ea76aULL},
    {0x27507bb7b07ea441ULL, 0x1ef2d0f5da7dd8aaULL},
    {0x52a6c95fc0655034ULL, 0x18c240c4aecb13bbULL},
    {0x0eebd44c99eaa690ULL, 0x13ce9a36f23c0fc9ULL},
    {0xb17953adc3110a80ULL, 0x1fb0f6be50601941ULL},
    {0xc12ddc8b02740867ULL, 0x195a5efea6b34767ULL},
    {0x3424b06f3529a052ULL, 0x14484bfeebc29f86ULL},
    {0x901d59f290ee19dbULL, 0x1039d66589687f9eULL},
    {0x4cfbc31db4b0295fULL, 0x19f623d5a8a73297ULL},
    {0x3d9635b15d59bab2ULL, 0x14c4e977ba1f5bacULL},
    {0x97ab5e277de16228ULL, 0x109d8792fb4c4956ULL},
    {0xf2abc9d8c9689d0dULL, 0x1a95a5b7f87a0ef0ULL},
    {0x5bbca17a3aba173eULL, 0x154484932d2e725aULL},
    {0xafca1ac82efb45cbULL, 0x11039d428a8b8eaeULL},
    {0xb2dcf7a6b1920945ULL, 0x1b38fb9daa78e44aULL},
    {0xf57d92ebc141a104ULL, 0x15c72fb1552d836eULL},
    {0xc46475896767b403ULL, 0x116c262777579c58ULL},
    {0x6d6d88dbd8a5ecd2ULL, 0x1be03d0bf225c6f4ULL},
    {0x8abe071646eb23dbULL, 0x164cfda3281e38c3ULL},
    {0x6efe6c11d255b649ULL, 0x11d7314f534b609cULL},
    {0xb197134fb6ef8a0eULL, 0x1c8b821885456760ULL},
    {0x27ac0f72f8bfa1a5ULL, 0x16d601ad376ab91aULL},
    {0xb95672c260994e1eULL, 0x1244ce242c5560e1ULL},
    {0xf5571e03cdc21695ULL, 0x1d3ae36d13bbce35ULL},
    {0x2aac18030b01ababULL, 0x17624f8a762fd82bULL},
    {0xbbbce0026f348956ULL, 0x12b50c6ec4f31355ULL},
    {0x92c7ccd0b1eda889ULL, 0x1dee7a4ad4b81eefULL},
    {0xdbd30a408e57ba07ULL, 0x17f1fb6f10934bf2ULL},
    {0x7ca8d50071dfc806ULL, 0x1327fc58da0f6ff5ULL},
    {0xfaa7bb33e9660cd6ULL, 0x1ea6608e29b24cbbULL},
    {0x9552fc298784d711ULL, 0x18851a0b548ea3c9ULL},
    {0xaaa8c9bad2d0ac0eULL, 0x139dae6f76d88307ULL},
    {0xdddadc5e1e1aace3ULL, 0x1f62b0b257c0d1a5ULL},
    {0x7e48b04b4b488a4fULL, 0x191bc08eac9a4151ULL},
    {0xcb6d59d5d5d3a1d9ULL, 0x141633a556e1cddaULL},
    {0x3c577b1177dc817bULL, 0x1011c2eaabe7d7e2ULL},
    {0xc6f25e825960cf2aULL, 0x19b604aaaca62636ULL},
    {0x6bf518684780a5bbULL, 0x14919d5556eb51c5ULL},
    {0x232a79ed06008496ULL, 0x10747ddddf22a7d1ULL},
    {0xd1dd8fe1a3340756ULL, 0x1a53fc9631d10c81ULL},
    {0xa7e4731ae8f66c45ULL, 0x150ffd44f4a73d34ULL},
    {0x531d28e253f8569eULL, 0x10d9976a5d52975dULL},
    {0xeb61db03b98d5762ULL, 0x1af5bf109550f22eULL},
    {0xbc4e48cfc7a445e8ULL, 0x159165a6ddda5b58ULL},
    {0x6371d3d96c836b20ULL, 0x11411e1f17e1e2adULL},
    {0x9f1c8628ad9f11cdULL, 0x1b9b6364f3030448ULL},
    {0xe5b06b53be18db0bULL, 0x1615e91d8f359d06ULL},
    {0xeaf3890fcb4715a2ULL, 0x11ab20e472914a6bULL},
    {0x44b8db4c7871bc37ULL, 0x1c45016d841baa46ULL},
    {0x03c715d6c6c1635fULL, 0x169d9abe03495505ULL},
    {0x3638de456bcde919ULL, 0x1217aefe69077737ULL},
    {0x56c163a2461641c1ULL, 0x1cf2b1970e725858ULL},
    {0xdf011c81d1ab67ceULL, 0x17288e1271f51379ULL},
    {0x7f3416ce4155eca5ULL, 0x1286d80ec190dc61ULL},
    {0x6520247d3556476eULL, 0x1da48ce468e7c702ULL},
    {0xea801d30f7783925ULL, 0x17b6d71d20b96c01ULL},
    {0xbb99b0f3f92cfa84ULL, 0x12f8ac174d612334ULL},
    {0x5f5c4e532847f739ULL, 0x1e5aacf215683854ULL},
    {0x7f7d0b75b9d32c2eULL, 0x18488a5b44536043ULL},
    {0x9930d5f7c7dc2358ULL, 0x136d3b7c36a919cfULL},
    {0x8eb4898c72f9d226ULL, 0x1f152bf9f10e8fb2ULL},
    {0x722a07a38f2e41b8ULL, 0x18ddbcc7f40ba628ULL},
    {0xc1bb394fa5be9afaULL, 0x13e497065cd61e86ULL},
    {0x9c5ec2190930f7f6ULL, 0x1fd424d6faf030d7ULL},
    {0x49e56814075a5ff8ULL, 0x197683df2f268d79ULL},
    {0x6e51201005e1e660ULL, 0x145ecfe5bf520ac7ULL},
    {0xf1da800cd181851aULL, 0x104bd984990e6f05ULL},
    {0x4fc400148268d4f5ULL, 0x1a12f5a0f4e3e4d6ULL},
    {0xd96999aa01ed772bULL, 0x14dbf7b3f71cb711ULL},
    {0xadee1488018ac5bcULL, 0x10aff95cc5b09274ULL},
    {0x497ceda668de092cULL, 0x1ab328946f80ea54ULL},
    {0x3aca57b853e4d424ULL, 0x155c2076bf9a5510ULL},
    {0x623b7960431d7683ULL, 0x1116805effaeaa73ULL},
    {0x9d2bf566d1c8bd9eULL, 0x1b5733cb32b110b8ULL},
    {0x7dbcc452416d647fULL, 0x15df5ca28ef40d60ULL},
    {0xcafd69db678ab6ccULL, 0x117f7d4ed8c33de6ULL},
    {0xab2f0fc572778adfULL, 0x1bff2ee48e052fd7ULL},
    {0x88f273045b92d580ULL, 0x1665bf1d3e6a8cacULL},
    {0xd3f528d049424466ULL, 0x11eaff4a98553d56ULL},
    {0xb988414d4203a0a3ULL, 0x1cab3210f3bb9557ULL},
    {0x6139cdd76802e6e9ULL, 0x16ef5b40c2fc7779ULL},
    {0xe761717920025254ULL, 0x125915cd68c9f92dULL},
    {0xa568b58e999d5086ULL, 0x1d5b561574765b7cULL},
    {0x5120913ee14aa6d2ULL, 0x177c44ddf6c515fdULL},
    {0xa74d40ff1aa21f0eULL, 0x12c9d0b1923744caULL},
    {0x0baece64f769cb4aULL, 0x1e0fb44f50586e11ULL},
    {0x3c8bd850c5ee3c3bULL, 0x180c903f7379f1a7ULL},
    {0xca0979da37f1c9c9ULL, 0x133d4032c2c7f485ULL},
    {0xa9a8c2f6bfe942dbULL, 0x1ec866b79e0cba6fULL},
    {0x2153cf2bccba9be3ULL, 0x18a0522c7e709526ULL},
    {0x1aa9728970954982ULL, 0x13b374f06526ddb8ULL},
    {0xf775840f1a88759dULL, 0x1f8587e7083e2f8cULL},
    {0x5f9136727ba05e17ULL, 0x19379fec0698260aULL},
    {0x1940f85b9619e4dfULL, 0x142c7ff0054684d5ULL},
    {0xe100c6afab47ea4cULL, 0x1023998cd1053710ULL},
    {0xce67a44c453fdd47ULL, 0x19d28f47b4d524e7ULL},
    {0xd852e9d69dccb106ULL, 0x14a8729fc3ddb71fULL},
    {0x79dbee454b0a2738ULL, 0x1086c219697e2c19ULL},
    {0x295fe3a211a9d859ULL, 0x1a71368f0f30468fULL},
    {0xbab31c81a7bb137aULL, 0x15275ed8d8f36ba5ULL},
    {0x6228e39aec95a92fULL, 0x10ec4be0ad8f8951ULL},
    {0x9d0e38f7e0ef7517ULL, 0x1b13ac9aaf4c0ee8ULL},
    {0xb0d82d931a592a79ULL, 0x15a956e225d67253ULL},
    {0x8d79be0f4847552eULL, 0x11544581b7dec1dcULL},
    {0x158f967eda0bbb7cULL, 0x1bba08cf8c979c94ULL},
    {0x77a611ff14d62f97ULL, 0x162e6d72d6dfb076ULL},
    {0xf951a7ff43de8c79ULL, 0x11bebdf578b2f391ULL},
    {0xc21c3ffed2fdad8eULL, 0x1c6463225ab7ec1cULL},
    {0x01b0333242648ad8ULL, 0x16b6b5b5155ff017ULL},
    {0x0159c28e9b83a246ULL, 0x122bc490dde659acULL},
    {0xcef604175f3903a3ULL, 0x1d12d41afca3c2acULL},
    {0x725e69ac4c2d9c83ULL, 0x17424348ca1c9bbdULL},
    {0xf5185489d68ae39cULL, 0x129b69070816e2fdULL},
    {0xee8d540fbdab05c6ULL, 0x1dc574d80cf16b2fULL},
    {0xbed77672fe226b05ULL, 0x17d12a4670c1228cULL},
    {0xff12c528cb4ebc04ULL, 0x130dbb6b8d674ed6ULL},
    {0xcb513b74787df9a0ULL, 0x1e7c5f127bd87e24ULL},
    {0x090dc929f9fe614dULL, 0x18637f41fcad31b7ULL},
    {0xa0d7d42194cb810aULL, 0x1382cc34ca2427c5ULL},
    {0x67bfb9cf5478ce77ULL, 0x1f37ad21436d0c6fULL},
    {0x1fcc94a5dd2d71f9ULL, 0x18f9574dcf8a7059ULL},
    {0x7fd6dd517dbdf4c7ULL, 0x13faac3e3fa1f37aULL},
    {0xffbe2ee8c92fee0bULL, 0x1ff779fd329cb8c3ULL},
    {0x6631bf20a0f324d6ULL, 0x1992c7fdc216fa36ULL},
    {0xb827cc1a1a5c1d78ULL, 0x14756ccb01abfb5eULL},
    {0x935309ae7b7ce460ULL, 0x105df0a267bcc918ULL},
    {0x1eeb42b0c594a099ULL, 0x1a2fe76a3f9474f4ULL},
    {0xe58902270476e6e1ULL, 0x14f31f8832dd2a5cULL},
    {0xb7a0ce859d2bebe7ULL, 0x10c27fa028b0eeb0ULL},
    {0x59014a6f61dfdfd8ULL, 0x1ad0cc33744e4ab4ULL},
    {0xe0cdd525e7e64cadULL, 0x1573d68f903ea229ULL},
    {0x4d7177518651d6f1ULL, 0x11297872d9cbb4eeULL},
    {0x7be8bee8d6e957e8ULL, 0x1b758d848fac54b0ULL},
    {0xfcba3253df211320ULL, 0x15f7a46a0c89dd59ULL},
    {0x63c8284318e74280ULL, 0x1192e9ee706e4aaeULL},
    {0x060d0d3827d86a66ULL, 0x1c1e43171a4a1117ULL},
    {0x6b3da42cecad21ebULL, 0x167e9c127b6e7412ULL},
    {0x88fe1cf0bd574e56ULL, 0x11fee341fc585cdbULL},
    {0x419694b462254a23ULL, 0x1ccb0536608d615fULL},
    {0x67abaa29e81dd4e9ULL, 0x1708d0f84d3de77fULL},
    {0xb95621bb2017dd87ULL, 0x126d73f9d764b932ULL},
    {0xc223692b668c95a5ULL, 0x1d7becc2f23ac1eaULL},
    {0xce82ba891ed6de1dULL, 0x179657025b6234bbULL},
    {0xa53562074bdf1818ULL, 0x12deac01e2b4f6fcULL},
    {0x3b889cd87964f359ULL, 0x1e3113363787f194ULL},
    {0xfc6d4a46c783f5e1ULL, 0x18274291c6065adcULL},
    {0x30576e9f06032b1aULL, 0x13529ba7d19eaf17ULL},
    {0x1a257dcb3cd1de90ULL, 0x1eea92a61c311825ULL},
    {0x481dfe3c30a7e540ULL, 0x18bba884e35a79b7ULL},
    {0xd34b31c9c0865100ULL, 0x13c9539d82aec7c5ULL},
    {0x5211e942cda3b4cdULL, 0x1fa885c8d117a609ULL},
    {0x74db21023e1c90a4ULL, 0x19539e3a40dfb807ULL},
    {0xf715b401cb4a0d50ULL, 0x1442e4fb67196005ULL},
    {0xf8de299b09080aa7ULL, 0x103583fc527ab337ULL},
    {0x8e304291a80cddd7ULL, 0x19ef3993b72ab859ULL},
    {0x3e8d020e200a4b13ULL, 0x14bf6142f8eef9e1ULL},
    {0x653d9b3e80083c0fULL, 0x10991a9bfa58c7e7ULL},
    {0x6ec8f864000d2ce4ULL, 0x1a8e90f9908e0ca5ULL},
    {0x8bd3f9e999a423eaULL, 0x153eda614071a3b7ULL},
    {0x3ca994bae1501cbbULL, 0x10ff151a99f482f9ULL},
    {0xc775bac49bb3612bULL, 0x1b31bb5dc320d18eULL},
    {0xd2c4956a16291a89ULL, 0x15c162b168e70e0bULL},
    {0xdbd0778811ba7ba1ULL, 0x11678227871f3e6fULL},
    {0x2c80bf401c5d929bULL, 0x1bd8d03f3e9863e6ULL},
    {0xbd33cc3349e47549ULL, 0x16470cff6546b651ULL},
    {0xca8fd68f6e505dd4ULL, 0x11d270cc51055ea7ULL},
    {0x4419574be3b3c953ULL, 0x1c83e7ad4e6efdd9ULL},
    {0x0347790982f63aa9ULL, 0x16cfec8aa52597e1ULL},
    {0xcf6c60d468c4fbbaULL, 0x123ff06eea847980ULL},
    {0xe57a34870e07f92aULL, 0x1d331a4b10d3f59aULL},
    {0x512e906c0b399422ULL, 0x175c1508da432ae2ULL},
    {0xda8ba6bcd5c7a9b5ULL, 0x12b010d3e1cf5581ULL},
    {0x90df712e22d90f87ULL, 0x1de6815302e5559cULL},
    {0xda4c5a8b4f140c6cULL, 0x17eb9aa8cf1dde16ULL},
    {0xaea37ba2a5a9a38aULL, 0x1322e220a5b17e78ULL},
    {0x7dd25f6aa2a905a9ULL, 0x1e9e369aa2b59727ULL},
    {0x97db7f888220d154ULL, 0x187e92154ef7ac1fULL},
    {0x797c6606ce80a777ULL, 0x139874ddd8c6234cULL},
    {0x8f2d700ae4010bf1ULL, 0x1f5a549627a36badULL},
    {0x0c2459a25000d65aULL, 0x191510781fb5efbeULL},
    {0x701d1481d99a4515ULL, 0x1410d9f9b2f7f2feULL},
    {0xc017439b147b6a77ULL, 0x100d7b2e28c65bfeULL},
    {0xccf205c4ed9243f2ULL, 0x19af2b7d0e0a2ccaULL},
    {0x0a5b37d0be0e9cc2ULL, 0x148c22ca71a1bd6fULL},
    {0x0848f973cb3ee3ceULL, 0x10701bd527b4978cULL},
    {0xda0e5bec78649fb0ULL, 0x1a4cf9550c5425acULL},
    {0x7b3eaff060507fc0ULL, 0x150a6110d6a9b7bdULL},
    {0x95cbbff380406633ULL, 0x10d51a73deee2c97ULL},
    {0xefac665266cd7052ULL, 0x1aee90b964b04758ULL},
    {0x2623850eb8a459dbULL, 0x158ba6fab6f36c47ULL},
    {0x1e82d0d893b6ae49ULL, 0x113c85955f29236cULL},
    {0xfd9e1af41f8ab075ULL, 0x1b9408eefea838acULL},
    {0x97b1af29b2d559f7ULL, 0x16100725988693bdULL},
    {0xac8e25baf5777b2cULL, 0x11a66c1e139edc97ULL},
    {0x7a7d092b2258c513ULL, 0x1c3d79c9b8fe2dbfULL},
    {0x61fda0ef4ead6a76ULL, 0x169794a160cb57ccULL},
    {0xe7fe1a590bbdeec5ULL, 0x1212dd4de7091309ULL},
    {0xa6635d5b45fcb13aULL, 0x1ceafbafd80e84dcULL},
    {0x851c4aaf6b308dc8ULL, 0x172262f3133ed0b0ULL},
    {0xd0e36ef2bc26d7d4ULL, 0x1281e8c275cbda26ULL},
    {0xb49f17eac6a48c86ULL, 0x1d9ca79d894629d7ULL},
    {0x2a18dfef0550706bULL, 0x17b08617a104ee46ULL},
    {0x54e0b3259dd9f389ULL, 0x12f39e794d9d8b6bULL},
    {0x87cdeb6f62f65274ULL, 0x1e5297287c2f4578ULL},
    {0xd30b22bf825ea85dULL, 0x18421286c9bf6ac6ULL},
    {0x0f3c1bcc684bb9e4ULL, 0x13680ed23aff889fULL},
    {0x18602c7a4079296dULL, 0x1f0ce4839198da98ULL},
    {0x46b356c833942124ULL, 0x18d71d360e13e213ULL},
    {0x388f78a029434db6ULL, 0x13df4a91a4dcb4dcULL},
    {0x5a7f2766a86baf8aULL, 0x1fcbaa82a1612160ULL},
    {0x153285ebb9efbfa2ULL, 0x196fbb9bb44db44dULL},
    {0xaa8ed189618c994eULL, 0x145962e2f6a4903dULL},
    {0xeed8a7a11ad6e10cULL, 0x1047824f2bb6d9caULL},
    {0x7e27729b5e249b45ULL, 0x1a0c03b1df8af611ULL},
    {0xfe85f549181d4904ULL, 0x14d6695b193bf80dULL},
    {0xcb9e5dd4134aa0d0ULL, 0x10ab877c142ff9a4ULL},
    {0xdf63c9535211014dULL, 0x1aac0bf9b9e65c3aULL},
    {0x191ca10f74da6771ULL, 0x15566ffafb1eb02fULL},
    {0xadb080d92a4852c1ULL, 0x1111f32f2f4bc025ULL},
    {0x15e7348eaa0d5134ULL, 0x1b4feb7eb212cd09ULL},
    {0xab1f5d3eee710dc4ULL, 0x15d98932280f0a6dULL},
    {0xbc1917658b8da49dULL, 0x117ad428200c0857ULL},
    {0x2cf4f23c127c3a94ULL, 0x1bf7b9d9cce00d59ULL},
    {0xf0c3f4fcdb969543ULL, 0x165fc7e170b33de0ULL},
    {0x5a365d9716121103ULL, 0x11e6398126f5cb1aULL},
    {0x9056fc24f01ce804ULL, 0x1ca38f350b22de90ULL},
    {0xd9df301d8ce3ecd0ULL, 0x16e93f5da2824ba6ULL},
    {0xe17f59b13d8323daULL, 0x125432b14ecea2ebULL},
    {0x68cbc2b52f38395cULL, 0x1d53844ee47dd179ULL},
    {0x53d6355dbf602de3ULL, 0x177603725064a794ULL},
    {0xa9782ab165e68b1cULL, 0x12c4cf8ea6b6ec76ULL},
    {0x0f26aab56fd744faULL, 0x1e07b27dd78b13f1ULL},
    {0x3f52222abfdf6a62ULL, 0x18062864ac6f4327ULL},
    {0x65db4e88997f884eULL, 0x1338205089f29c1fULL},
    {0x6fc54a7428cc0d4aULL, 0x1ec033b40fea9365ULL},
    {0x596aa1f68709a43bULL, 0x1899c2f673220f84ULL},
    {0xadeee7f86c07b696ULL, 0x13ae3591f5b4d936ULL},
    {0x497e3ff3e00c5756ULL, 0x1f7d228322baf524ULL},
    {0xd464fff64cd6ac45ULL, 0x1930e868e89590e9ULL},
    {0x4383fff83d7889d1ULL, 0x14272053ed4473eeULL},
    {0xcf9cccc69793a174ULL, 0x101f4d0ff1038ff1ULL},
    {0x7f6147a425b90252ULL, 0x19cbae7fe805b31cULL},
    {0xcc4dd2e9b7c7350fULL, 0x14a2f1ffecd15c16ULL},
    {0x3d0b0f215fd290d9ULL, 0x10825b3323dab012ULL},
    {0x61ab4b689950e7c1ULL, 0x1a6a2b85062ab350ULL},
    {0x4e22a2ba1440b967ULL, 0x1521bc6a6b555c40ULL},
    {0x0b4ee894dd009453ULL, 0x10e7c9eebc4449cdULL},
    {0x1217da87c800ed51ULL, 0x1b0c764ac6d3a948ULL},
    {0xdb46486ca000bddaULL, 0x15a391d56bdc876cULL},
    {0x490506bd4ccd64afULL, 0x114fa7ddefe39f8aULL},
    {0xa8080ac87ae23ab1ULL, 0x1bb2a62fe638ff43ULL},
    {0x5339a239fbe82ef4ULL, 0x162884f31e93ff69ULL},
    {0x75c7b4fb2fecf25dULL, 0x11ba03f5b20fff87ULL},
    {0x22d92191e647ea2eULL, 0x1c5cd322b67fff3fULL},
    {0xb57a8141850654f2ULL, 0x16b0a8e891ffff65ULL},
    {0xc4620101373843f5ULL, 0x1226ed86db3332b7ULL},
    {0x3a366801f1f39feeULL, 0x1d0b15a491eb8459ULL},
    {0xfb5eb99b27f6198bULL, 0x173c115074bc69e0ULL},
    {0x2f7efae2865e7ad6ULL, 0x129674405d6387e7ULL},
    {0xe597f7d0d6fd9156ULL, 0x1dbd86cd6238d971ULL},
    {0x8479930d78cadaabULL, 0x17cad23de82d7ac1ULL},
    {0xd06142712d6f1556ULL, 0x1308a831868ac89aULL},
    {0x4d686a4eaf182222ULL, 0x1e74404f3daada91ULL},
    {0xa453883ef279b4e8ULL, 0x185d003f6488aedaULL},
    {0xe9dc6cff28615d87ULL, 0x137d99cc506d58aeULL},
    {0xa960ae650d6895a4ULL, 0x1f2f5c7a1a488de4ULL},
    {0xbab3beb73ded4483ULL, 0x18f2b061aea07183ULL},
};
static const uint64_t fr__j_pow5[326][2] = {
    {0x0000000000000000ULL, 0x1000000000000000ULL},
    {0x0000000000000000ULL, 0x1400000000000000ULL},
    {0x0000000000000000ULL, 0x1900000000000000ULL},
    {0x0000000000000000ULL, 0x1f40000000000000ULL},
    {0x0000000000000000ULL, 0x1388000000000000ULL},
    {0x0000000000000000ULL, 0x186a000000000000ULL},
    {0x0000000000000000ULL, 0x1e84800000000000ULL},
    {0x0000000000000000ULL, 0x1312d00000000000ULL},
    {0x0000000000000000ULL, 0x17d7840000000000ULL},
    {0x0000000000000000ULL, 0x1dcd650000000000ULL},
    {0x0000000000000000ULL, 0x12a05f2000000000ULL},
    {0x0000000000000000ULL, 0x174876e800000000ULL},
    {0x0000000000000000ULL, 0x1d1a94a200000000ULL},
    {0x0000000000000000ULL, 0x12309ce540000000ULL},
    {0x0000000000000000ULL, 0x16bcc41e90000000ULL},
    {0x0000000000000000ULL, 0x1c6bf52634000000ULL},
    {0x0000000000000000ULL, 0x11c37937e0800000ULL},
    {0x0000000000000000ULL, 0x16345785d8a00000ULL},
    {0x0000000000000000ULL, 0x1bc16d674ec80000ULL},
    {0x0000000000000000ULL, 0x1158e460913d0000ULL},
    {0x0000000000000000ULL, 0x15af1d78b58c4000ULL},
    {0x0000000000000000ULL, 0x1b1ae4d6e2ef5000ULL},
    {0x0000000000000000ULL, 0x10f0cf064dd59200ULL},
    {0x0000000000000000ULL, 0x152d02c7e14af680ULL},
    {0x0000000000000000ULL, 0x1a784379d99db420ULL},
    {0x0000000000000000ULL, 0x108b2a2c28029094ULL},
    {0x0000000000000000ULL, 0x14adf4b7320334b9ULL},
    {0x4000000000000000ULL, 0x19d971e4fe8401e7ULL},
    {0x8800000000000000ULL, 0x1027e72f1f128130ULL},
    {0xaa00000000000000ULL, 0x1431e0fae6d7217cULL},
    {0xd480000000000000ULL, 0x193e5939a08ce9dbULL},
    {0xc9a0000000000000ULL, 0x1f8def8808b02452ULL},
    {0xbe04000000000000ULL, 0x13b8b5b5056e16b3ULL},
    {0xad85000000000000ULL, 0x18a6e32246c99c60ULL},
    {0xd8e6400000000000ULL, 0x1ed09bead87c0378ULL},
    {0x878fe80000000000ULL, 0x13426172c74d822bULL},
    {0x6973e20000000000ULL, 0x1812f9cf7920e2b6ULL},
    {0x03d0da8000000000ULL, 0x1e17b84357691b64ULL},
    {0x8262889000000000ULL, 0x12ced32a16a1b11eULL},
    {0x22fb2ab400000000ULL, 0x178287f49c4a1d66ULL},
    {0xabb9f56100000000ULL, 0x1d6329f1c35ca4bfULL},
    {0xcb54395ca0000000ULL, 0x125dfa371a19e6f7ULL},
    {0xbe2947b3c8000000ULL, 0x16f578c4e0a060b5ULL},
    {0x2db399a0ba000000ULL, 0x1cb2d6f618c878e3ULL},
    {0xfc90400474400000ULL, 0x11efc659cf7d4b8dULL},
    {0x7bb4500591500000ULL, 0x166bb7f0435c9e71ULL},
    {0xdaa16406f5a40000ULL, 0x1c06a5ec5433c60dULL},
    {0xa8a4de8459868000ULL, 0x118427b3b4a05bc8ULL},
    {0xd2ce16256fe82000ULL, 0x15e531a0a1c872baULL},
    {0x87819baecbe22800ULL, 0x1b5e7e08ca3a8f69ULL},
    {0xf4b1014d3f6d5900ULL, 0x111b0ec57e6499a1ULL},
    {0x71dd41a08f48af40ULL, 0x1561d276ddfdc00aULL},
    {0x0e549208b31adb10ULL, 0x1aba4714957d300dULL},
    {0x28f4db456ff0c8eaULL, 0x10b46c6cdd6e3e08ULL},
    {0x33321216cbecfb24ULL, 0x14e1878814c9cd8aULL},
    {0xbffe969c7ee839edULL, 0x1a19e96a19fc40ecULL},
    {0xf7ff1e21cf512434ULL, 0x105031e2503da893ULL},
    {0xf5fee5aa43256d41ULL, 0x14643e5ae44d12b8ULL},
    {0x337e9f14d3eec892ULL, 0x197d4df19d605767ULL},
    {0x005e46da08ea7ab6ULL, 0x1fdca16e04b86d41ULL},
    {0xa03aec4845928cb2ULL, 0x13e9e4e4c2f34448ULL},
    {0xc849a75a56f72fdeULL, 0x18e45e1df3b0155aULL},
    {0x7a5c1130ecb4fbd6ULL, 0x1f1d75a5709c1ab1ULL},
    {0xec798abe93f11d65ULL, 0x13726987666190aeULL},
    {0xa797ed6e38ed64bfULL, 0x184f03e93ff9f4daULL},
    {0x517de8c9c728bdefULL, 0x1e62c4e38ff87211ULL},
    {0xd2eeb17e1c7976b5ULL, 0x12fdbb0e39fb474aULL},
    {0x87aa5ddda397d462ULL, 0x17bd29d1c87a191dULL},
    {0xe994f5550c7dc97bULL, 0x1dac74463a989f64ULL},
    {0x11fd195527ce9dedULL, 0x128bc8abe49f639fULL},
    {0xd67c5faa71c24568ULL, 0x172ebad6ddc73c86ULL},
    {0x8c1b77950e32d6c2ULL, 0x1cfa698c95390ba8ULL},
    {0x57912abd28dfc639ULL, 0x121c81f7dd43a749ULL},
    {0xad75756c7317b7c8ULL, 0x16a3a275d494911bULL},
    {0x98d2d2c78fdda5baULL, 0x1c4c8b1349b9b562ULL},
    {0x9f83c3bcb9ea8794ULL, 0x11afd6ec0e14115dULL},
    {0x0764b4abe8652979ULL, 0x161bcca7119915b5ULL},
    {0x493de1d6e27e73d7ULL, 0x1ba2bfd0d5ff5b22ULL},
    {0x6dc6ad264d8f0866ULL, 0x1145b7e285bf98f5ULL},
    {0xc938586fe0f2ca80ULL, 0x159725db272f7f32ULL},
    {0x7b866e8bd92f7d20ULL, 0x1afcef51f0fb5effULL},
    {0xad34051767bdae34ULL, 0x10de1593369d1b5fULL},
    {0x9881065d41ad19c1ULL, 0x15159af804446237ULL},
    {0x7ea147f492186032ULL, 0x1a5b01b605557ac5ULL},
    {0x6f24ccf8db4f3c1fULL, 0x1078e111c3556cbbULL},
    {0x4aee003712230b27ULL, 0x14971956342ac7eaULL},
    {0xdda98044d6abcdf0ULL, 0x19bcdfabc13579e4ULL},
    {0x0a89f02b062b60b6ULL, 0x10160bcb58c16c2fULL},
    {0xcd2c6c35c7b638e4ULL, 0x141b8ebe2ef1c73aULL},
    {0x8077874339a3c71dULL, 0x1922726dbaae3909ULL},
    {0xe0956914080cb8e4ULL, 0x1f6b0f092959c74bULL},
    {0x6c5d61ac8507f38eULL, 0x13a2e965b9d81c8fULL},
    {0x4774ba17a649f072ULL, 0x188ba3bf284e23b3ULL},
    {0x1951e89d8fdc6c8fULL, 0x1eae8caef261aca0ULL},
    {0x0fd3316279e9c3d9ULL, 0x132d17ed577d0be4ULL},
    {0x13c7fdbb186434cfULL, 0x17f85de8ad5c4eddULL},
    {0x58b9fd29de7d4203ULL, 0x1df67562d8b36294ULL},
    {0xb7743e3a2b0e4942ULL, 0x12ba095dc7701d9cULL},
    {0xe5514dc8b5d1db92ULL, 0x17688bb5394c2503ULL},
    {0xdea5a13ae3465277ULL, 0x1d42aea2879f2e44ULL},
    {0x0b2784c4ce0bf38aULL, 0x1249ad2594c37cebULL},
    {0xcdf165f6018ef06dULL, 0x16dc186ef9f45c25ULL},
    {0x416dbf7381f2ac88ULL, 0x1c931e8ab871732fULL},
    {0x88e497a83137abd5ULL, 0x11dbf316b346e7fdULL},
    {0xeb1dbd923d8596caULL, 0x1652efdc6018a1fcULL},
    {0x25e52cf6cce6fc7dULL, 0x1be7abd3781eca7cULL},
    {0x97af3c1a40105dceULL, 0x1170cb642b133e8dULL},
    {0xfd9b0b20d0147542ULL, 0x15ccfe3d35d80e30ULL},
    {0x3d01cde904199292ULL, 0x1b403dcc834e11bdULL},
    {0x462120b1a28ffb9bULL, 0x1108269fd210cb16ULL},
    {0xd7a968de0b33fa82ULL, 0x154a3047c694fddbULL},
    {0xcd93c3158e00f923ULL, 0x1a9cbc59b83a3d52ULL},
    {0xc07c59ed78c09bb6ULL, 0x10a1f5b813246653ULL},
    {0xb09b7068d6f0c2a3ULL, 0x14ca732617ed7fe8ULL},
    {0xdcc24c830cacf34cULL, 0x19fd0fef9de8dfe2ULL},
    {0xc9f96fd1e7ec180fULL, 0x103e29f5c2b18bedULL},
    {0x3c77cbc661e71e13ULL, 0x144db473335deee9ULL},
    {0x8b95beb7fa60e598ULL, 0x1961219000356aa3ULL},
    {0x6e7b2e65f8f91efeULL, 0x1fb969f40042c54cULL},
    {0xc50cfcffbb9bb35fULL, 0x13d3e2388029bb4fULL},
    {0xb6503c3faa82a037ULL, 0x18c8dac6a0342a23ULL},
    {0xa3e44b4f95234844ULL, 0x1efb1178484134acULL},
    {0xe66eaf11bd360d2bULL, 0x135ceaeb2d28c0ebULL},
    {0xe00a5ad62c839075ULL, 0x183425a5f872f126ULL},
    {0x980cf18bb7a47493ULL, 0x1e412f0f768fad70ULL},
    {0x5f0816f752c6c8dcULL, 0x12e8bd69aa19cc66ULL},
    {0xf6ca1cb527787b13ULL, 0x17a2ecc414a03f7fULL},
    {0xf47ca3e2715699d7ULL, 0x1d8ba7f519c84f5fULL},
    {0xf8cde66d86d62026ULL, 0x127748f9301d319bULL},
    {0xf7016008e88ba830ULL, 0x17151b377c247e02ULL},
    {0xb4c1b80b22ae923cULL, 0x1cda62055b2d9d83ULL},
    {0x50f91306f5ad1b65ULL, 0x12087d4358fc8272ULL},
    {0xe53757c8b318623fULL, 0x168a9c942f3ba30eULL},
    {0x9e852dbadfde7acfULL, 0x1c2d43b93b0a8bd2ULL},
    {0xa3133c94cbeb0cc1ULL, 0x119c4a53c4e69763ULL},
    {0x8bd80bb9fee5cff1ULL, 0x16035ce8b6203d3cULL},
    {0xaece0ea87e9f43eeULL, 0x1b843422e3a84c8bULL},
    {0x4d40c9294f238a75ULL, 0x1132a095ce492fd7ULL},
    {0x2090fb73a2ec6d12ULL, 0x157f48bb41db7bcdULL},
    {0x68b53a508ba78856ULL, 0x1adf1aea12525ac0ULL},
    {0x417144725748b536ULL, 0x10cb70d24b7378b8ULL},
    {0x51cd958eed1ae283ULL, 0x14fe4d06de5056e6ULL},
    {0xe640faf2a8619b24ULL, 0x1a3de04895e46c9fULL},
    {0xefe89cd7a93d00f7ULL, 0x1066ac2d5daec3e3ULL},
    {0xebe2c40d938c4134ULL, 0x14805738b51a74dcULL},
    {0x26db7510f86f5181ULL, 0x19a06d06e2611214ULL},
    {0x9849292a9b4592f1ULL, 0x100444244d7cab4cULL},
    {0xbe5b73754216f7adULL, 0x1405552d60dbd61fULL},
    {0xadf25052929cb598ULL, 0x1906aa78b912cba7ULL},
    {0x996ee4673743e2ffULL, 0x1f485516e7577e91ULL},
    {0xffe54ec0828a6ddfULL, 0x138d352e5096af1aULL},
    {0xbfdea270a32d0957ULL, 0x18708279e4bc5ae1ULL},
    {0x2fd64b0ccbf84badULL, 0x1e8ca3185deb719aULL},
    {0x5de5eee7ff7b2f4cULL, 0x1317e5ef3ab32700ULL},
    {0x755f6aa1ff59fb1fULL, 0x17dddf6b095ff0c0ULL},
    {0x92b7454a7f3079e7ULL, 0x1dd55745cbb7ecf0ULL},
    {0x5bb28b4e8f7e4c30ULL, 0x12a5568b9f52f416ULL},
    {0xf29f2e22335ddf3cULL, 0x174eac2e8727b11bULL},
    {0xef46f9aac035570bULL, 0x1d22573a28f19d62ULL},
    {0xd58c5c0ab8215667ULL, 0x123576845997025dULL},
    {0x4aef730d6629ac01ULL, 0x16c2d4256ffcc2f5ULL},
    {0x9dab4fd0bfb41701ULL, 0x1c73892ecbfbf3b2ULL},
    {0xa28b11e277d08e60ULL, 0x11c835bd3f7d784fULL},
    {0x8b2dd65b15c4b1f9ULL, 0x163a432c8f5cd663ULL},
    {0x6df94bf1db35de77ULL, 0x1bc8d3f7b3340bfcULL},
    {0xc4bbcf772901ab0aULL, 0x115d847ad000877dULL},
    {0x35eac354f34215cdULL, 0x15b4e5998400a95dULL},
    {0x8365742a30129b40ULL, 0x1b221effe500d3b4ULL},
    {0xd21f689a5e0ba108ULL, 0x10f5535fef208450ULL},
    {0x06a742c0f58e894aULL, 0x1532a837eae8a565ULL},
    {0x4851137132f22b9dULL, 0x1a7f5245e5a2cebeULL},
    {0xed32ac26bfd75b42ULL, 0x108f936baf85c136ULL},
    {0xa87f57306fcd3212ULL, 0x14b378469b673184ULL},
    {0xd29f2cfc8bc07e97ULL, 0x19e056584240fde5ULL},
    {0xa3a37c1dd7584f1eULL, 0x102c35f729689eafULL},
    {0x8c8c5b254d2e62e6ULL, 0x14374374f3c2c65bULL},
    {0x6faf71eea079fb9fULL, 0x1945145230b377f2ULL},
    {0x0b9b4e6a48987a87ULL, 0x1f965966bce055efULL},
    {0x674111026d5f4c94ULL, 0x13bdf7e0360c35b5ULL},
    {0xc111554308b71fbaULL, 0x18ad75d8438f4322ULL},
    {0x7155aa93cae4e7a8ULL, 0x1ed8d34e547313ebULL},
    {0x26d58a9c5ecf10c9ULL, 0x13478410f4c7ec73ULL},
    {0xf08aed437682d4fbULL, 0x1819651531f9e78fULL},
    {0xecada89454238a3aULL, 0x1e1fbe5a7e786173ULL},
    {0x73ec895cb4963664ULL, 0x12d3d6f88f0b3ce8ULL},
    {0x90e7abb3e1bbc3fdULL, 0x1788ccb6b2ce0c22ULL},
    {0x352196a0da2ab4fdULL, 0x1d6affe45f818f2bULL},
    {0x0134fe24885ab11eULL, 0x1262dfeebbb0f97bULL},
    {0xc1823dadaa715d65ULL, 0x16fb97ea6a9d37d9ULL},
    {0x31e2cd19150db4bfULL, 0x1cba7de5054485d0ULL},
    {0x1f2dc02fad2890f7ULL, 0x11f48eaf234ad3a2ULL},
    {0xa6f9303b9872b535ULL, 0x1671b25aec1d888aULL},
    {0x50b77c4a7e8f6282ULL, 0x1c0e1ef1a724eaadULL},
    {0x5272adae8f199d91ULL, 0x1188d357087712acULL},
    {0x670f591a32e004f6ULL, 0x15eb082cca94d757ULL},
    {0x40d32f60bf980633ULL, 0x1b65ca37fd3a0d2dULL},
    {0x4883fd9c77bf03e0ULL, 0x111f9e62fe44483cULL},
    {0x5aa4fd0395aec4d8ULL, 0x156785fbbdd55a4bULL},
    {0x314e3c447b1a760eULL, 0x1ac1677aad4ab0deULL},
    {0xded0e5aaccf089c9ULL, 0x10b8e0acac4eae8aULL},
    {0x96851f15802cac3bULL, 0x14e718d7d7625a2dULL},
    {0xfc2666dae037d74aULL, 0x1a20df0dcd3af0b8ULL},
    {0x9d980048cc22e68eULL, 0x10548b68a044d673ULL},
    {0x84fe005aff2ba032ULL, 0x1469ae42c8560c10ULL},
    {0xa63d8071bef6883eULL, 0x198419d37a6b8f14ULL},
    {0xcfcce08e2eb42a4eULL, 0x1fe52048590672d9ULL},
    {0x21e00c58dd309a70ULL, 0x13ef342d37a407c8ULL},
    {0x2a580f6f147cc10dULL, 0x18eb0138858d09baULL},
    {0xb4ee134ad99bf150ULL, 0x1f25c186a6f04c28ULL},
    {0x7114cc0ec80176d2ULL, 0x137798f428562f99ULL},
    {0xcd59ff127a01d486ULL, 0x18557f31326bbb7fULL},
    {0xc0b07ed7188249a8ULL, 0x1e6adefd7f06aa5fULL},
    {0xd86e4f466f516e09ULL, 0x1302cb5e6f642a7bULL},
    {0xce89e3180b25c98bULL, 0x17c37e360b3d351aULL},
    {0x822c5bde0def3beeULL, 0x1db45dc38e0c8261ULL},
    {0xf15bb96ac8b58575ULL, 0x1290ba9a38c7d17cULL},
    {0x2db2a7c57ae2e6d2ULL, 0x1734e940c6f9c5dcULL},
    {0x391f51b6d99ba086ULL, 0x1d022390f8b83753ULL},
    {0x03b3931248014454ULL, 0x1221563a9b732294ULL},
    {0x04a077d6da019569ULL, 0x16a9abc9424feb39ULL},
    {0x45c895cc9081fac3ULL, 0x1c5416bb92e3e607ULL},
    {0x8b9d5d9fda513cbaULL, 0x11b48e353bce6fc4ULL},
    {0xae84b507d0e58be8ULL, 0x1621b1c28ac20bb5ULL},
    {0x1a25e249c51eeee3ULL, 0x1baa1e332d728ea3ULL},
    {0xf057ad6e1b33554dULL, 0x114a52dffc679925ULL},
    {0x6c6d98c9a2002aa1ULL, 0x159ce797fb817f6fULL},
    {0x4788fefc0a803549ULL, 0x1b04217dfa61df4bULL},
    {0x0cb59f5d8690214eULL, 0x10e294eebc7d2b8fULL},
    {0xcfe30734e83429a1ULL, 0x151b3a2a6b9c7672ULL},
    {0x83dbc9022241340aULL, 0x1a6208b50683940fULL},
    {0xb2695da15568c086ULL, 0x107d457124123c89ULL},
    {0x1f03b509aac2f0a7ULL, 0x149c96cd6d16cbacULL},
    {0x26c4a24c1573acd1ULL, 0x19c3bc80c85c7e97ULL},
    {0x783ae56f8d684c03ULL, 0x101a55d07d39cf1eULL},
    {0x16499ecb70c25f03ULL, 0x1420eb449c8842e6ULL},
    {0x9bdc067e4cf2f6c4ULL, 0x19292615c3aa539fULL},
    {0x82d3081de02fb476ULL, 0x1f736f9b3494e887ULL},
    {0xb1c3e512ac1dd0c9ULL, 0x13a825c100dd1154ULL},
    {0xde34de57572544fcULL, 0x18922f31411455a9ULL},
    {0x55c215ed2cee963bULL, 0x1eb6bafd91596b14ULL},
    {0xb5994db43c151de5ULL, 0x133234de7ad7e2ecULL},
    {0xe2ffa1214b1a655eULL, 0x17fec216198ddba7ULL},
    {0xdbbf89699de0feb6ULL, 0x1dfe729b9ff15291ULL},
    {0x2957b5e202ac9f31ULL, 0x12bf07a143f6d39bULL},
    {0xf3ada35a8357c6feULL, 0x176ec98994f48881ULL},
    {0x70990c31242db8bdULL, 0x1d4a7bebfa31aaa2ULL},
    {0x865fa79eb69c9376ULL, 0x124e8d737c5f0aa5ULL},
    {0xe7f791866443b854ULL, 0x16e230d05b76cd4eULL},
    {0xa1f575e7fd54a669ULL, 0x1c9abd04725480a2ULL},
    {0xa53969b0fe54e801ULL, 0x11e0b622c774d065ULL},
    {0x0e87c41d3dea2202ULL, 0x1658e3ab7952047fULL},
    {0xd229b5248d64aa82ULL, 0x1bef1c9657a6859eULL},
    {0x435a1136d85eea91ULL, 0x117571ddf6c81383ULL},
    {0x143095848e76a536ULL, 0x15d2ce55747a1864ULL},
    {0x193cbae5b2144e83ULL, 0x1b4781ead1989e7dULL},
    {0x2fc5f4cf8f4cb112ULL, 0x110cb132c2ff630eULL},
    {0xbbb77203731fdd56ULL, 0x154fdd7f73bf3bd1ULL},
    {0x2aa54e844fe7d4acULL, 0x1aa3d4df50af0ac6ULL},
    {0xdaa75112b1f0e4ebULL, 0x10a6650b926d66bbULL},
    {0xd15125575e6d1e26ULL, 0x14cffe4e7708c06aULL},
    {0x85a56ead360865b0ULL, 0x1a03fde214caf085ULL},
    {0x7387652c41c53f8eULL, 0x10427ead4cfed653ULL},
    {0x50693e7752368f71ULL, 0x14531e58a03e8be8ULL},
    {0x64838e1526c4334eULL, 0x1967e5eec84e2ee2ULL},
    {0xfda4719a70754022ULL, 0x1fc1df6a7a61ba9aULL},
    {0xde86c70086494815ULL, 0x13d92ba28c7d14a0ULL},
    {0x162878c0a7db9a1aULL, 0x18cf768b2f9c59c9ULL},
    {0x5bb296f0d1d280a1ULL, 0x1f03542dfb83703bULL},
    {0x194f9e5683239064ULL, 0x1362149cbd322625ULL},
    {0x5fa385ec23ec747eULL, 0x183a99c3ec7eafaeULL},
    {0xf78c67672ce7919dULL, 0x1e494034e79e5b99ULL},
    {0x3ab7c0a07c10bb02ULL, 0x12edc82110c2f940ULL},
    {0x4965b0c89b14e9c3ULL, 0x17a93a2954f3b790ULL},
    {0x5bbf1cfac1da2433ULL, 0x1d9388b3aa30a574ULL},
    {0xb957721cb92856a0ULL, 0x127c35704a5e6768ULL},
    {0xe7ad4ea3e7726c48ULL, 0x171b42cc5cf60142ULL},
    {0xa198a24ce14f075aULL, 0x1ce2137f74338193ULL},
    {0x44ff65700cd16498ULL, 0x120d4c2fa8a030fcULL},
    {0x563f3ecc1005bdbeULL, 0x16909f3b92c83d3bULL},
    {0x2bcf0e7f14072d2eULL, 0x1c34c70a777a4c8aULL},
    {0x5b61690f6c847c3dULL, 0x11a0fc668aac6fd6ULL},
    {0xf239c35347a59b4cULL, 0x16093b802d578bcbULL},
    {0xeec83428198f021fULL, 0x1b8b8a6038ad6ebeULL},
    {0x553d20990ff96153ULL, 0x1137367c236c6537ULL},
    {0x2a8c68bf53f7b9a8ULL, 0x1585041b2c477e85ULL},
    {0x752f82ef28f5a812ULL, 0x1ae64521f7595e26ULL},
    {0x093db1d57999890bULL, 0x10cfeb353a97dad8ULL},
    {0x0b8d1e4ad7ffeb4eULL, 0x1503e602893dd18eULL},
    {0x8e7065dd8dffe622ULL, 0x1a44df832b8d45f1ULL},
    {0xf9063faa78bfefd5ULL, 0x106b0bb1fb384bb6ULL},
    {0xb747cf9516efebcaULL, 0x1485ce9e7a065ea4ULL},
    {0xe519c37a5cabe6bdULL, 0x19a742461887f64dULL},
    {0xaf301a2c79eb7036ULL, 0x1008896bcf54f9f0ULL},
    {0xdafc20b798664c43ULL, 0x140aabc6c32a386cULL},
    {0x11bb28e57e7fdf54ULL, 0x190d56b873f4c688ULL},
    {0x1629f31ede1fd72aULL, 0x1f50ac6690f1f82aULL},
    {0x4dda37f34ad3e67aULL, 0x13926bc01a973b1aULL},
    {0xe150c5f01d88e019ULL, 0x187706b0213d09e0ULL},
    {0x19a4f76c24eb181fULL, 0x1e94c85c298c4c59ULL},
    {0xb0071aa39712ef13ULL, 0x131cfd3999f7afb7ULL},
    {0x9c08e14c7cd7aad8ULL, 0x17e43c8800759ba5ULL},
    {0x030b199f9c0d958eULL, 0x1ddd4baa0093028fULL},
    {0x61e6f003c1887d79ULL, 0x12aa4f4a405be199ULL},
    {0xba60ac04b1ea9cd7ULL, 0x1754e31cd072d9ffULL},
    {0xa8f8d705de65440dULL, 0x1d2a1be4048f907fULL},
    {0xc99b8663aaff4a88ULL, 0x123a516e82d9ba4fULL},
    {0xbc0267fc95bf1d2aULL, 0x16c8e5ca239028e3ULL},
    {0xab0301fbbb2ee474ULL, 0x1c7b1f3cac74331cULL},
    {0xeae1e13d54fd4ec9ULL, 0x11ccf385ebc89ff1ULL},
    {0x659a598caa3ca27bULL, 0x1640306766bac7eeULL},
    {0xff00efefd4cbcb1aULL, 0x1bd03c81406979e9ULL},
    {0x3f6095f5e4ff5ef0ULL, 0x116225d0c841ec32ULL},
    {0xcf38bb735e3f36acULL, 0x15baaf44fa52673eULL},
    {0x8306ea5035cf0457ULL, 0x1b295b1638e7010eULL},
    {0x11e4527221a162b6ULL, 0x10f9d8ede39060a9ULL},
    {0x565d670eaa09bb64ULL, 0x15384f295c7478d3ULL},
    {0x2bf4c0d2548c2a3dULL, 0x1a8662f3b3919708ULL},
    {0x1b78f88374d79a66ULL, 0x1093fdd8503afe65ULL},
    {0x625736a4520d8100ULL, 0x14b8fd4e6449bdfeULL},
    {0xfaed044d6690e140ULL, 0x19e73ca1fd5c2d7dULL},
    {0xbcd422b0601a8cc8ULL, 0x103085e53e599c6eULL},
    {0x6c092b5c78212ffaULL, 0x143ca75e8df0038aULL},
    {0x070b763396297bf8ULL, 0x194bd136316c046dULL},
    {0x48ce53c07bb3daf6ULL, 0x1f9ec583bdc70588ULL},
    {0x2d80f4584d5068daULL, 0x13c33b72569c6375ULL},
    {0x78e1316e60a48310ULL, 0x18b40a4eec437c52ULL},
};

static int fr__pow5bits(int e) { return (int)((((uint32_t)e * 1217359u) >> 19) + 1); } /* bits of 5^e */

#if defined(__SIZEOF_INT128__) && !defined(FR__J_NO_INT128)
__extension__ typedef unsigned __int128 fr__u128;
static uint64_t fr__umul128(uint64_t a, uint64_t b, uint64_t *hi) {
    fr__u128 p = (fr__u128)a * b;
    *hi = (uint64_t)(p >> 64);
    return (uint64_t)p;
}
#else
static uint64_t fr__umul128(uint64_t a, uint64_t b, uint64_t *hi) {
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t b00 = al * bl, b01 = al * bh, b10 = ah * bl, b11 = ah * bh;
    uint64_t mid1 = b10 + (b00 >> 32);
    uint64_t mid2 = b01 + (uint32_t)mid1;
    *hi = b11 + (mid1 >> 32) + (mid2 >> 32);
    return (mid2 << 32) | (uint32_t)b00;
}
#endif

#if defined(__GNUC__)
#define FR__CLZ64(x) __builtin_clzll(x)
#else
static int fr__clz64(uint64_t x) { /* x != 0 */
    int n = 0;
    while (!(x & (1ULL << 63))) {
        x <<= 1;
        n++;
    }
    return n;
}
#define FR__CLZ64(x) fr__clz64(x)
#endif

/* ------------------------------------------------------------------ */
/* decimal -> double (reader)                                         */
/* ------------------------------------------------------------------ */

static const double fr__json_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                          1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                          1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Clinger's fast path is exact only when double arithmetic is (no x87
 * excess precision). */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
#define FR__J_EXACT_FP 1
#else
#define FR__J_EXACT_FP 0
#endif

/* Correctly rounded value of digits[0..nd) * 10^e10 (digits without sign,
 * no decimal point: locale-proof). nd <= FR__J_MAXDIG + 1. */
#define FR__J_MAXDIG 768
static double fr__json_digits_to_double(const char *digits, size_t nd, long e10) {
    char tmp[FR__J_MAXDIG + 40];
    char *q = tmp;
    unsigned long ue;
    char eb[24];
    int n = 0;
    memcpy(q, digits, nd);
    q += nd;
    *q++ = 'e';
    if (e10 < 0) {
        *q++ = '-';
        ue = 0ul - (unsigned long)e10;
    } else {
        ue = (unsigned long)e10;
    }
    do {
        eb[n++] = (char)('0' + ue % 10);
        ue /= 10;
    } while (ue);
    while (n) *q++ = eb[--n];
    *q = 0;
    return strtod(tmp, NULL);
}

/* w * 10^q rounded to nearest, when that is certain (Eisel-Lemire style):
 * multiply the normalized w by the 125-bit table entry for 5^q (or 5^-q)
 * and read 53 bits plus a round bit off the 192-bit product. The table's
 * error moves the product by less than 2^64 units of its last bit, so the
 * answer is certain unless the bits below the round bit sit within 2^64 of
 * the halfway point -- then (and for results that are not normal doubles)
 * return 0 and let the exact strtod path decide. */
static int fr__json_dec_fast(uint64_t w, long long q, double *out) {
    const uint64_t *pw;
    uint64_t wn, a0, a1, b0, b1, l1, l2, m, lowmask, low, bits;
    int lz, hb, sh, e2, be;
    if (w == 0 || q < -290 || q > 308) return 0;
    lz = FR__CLZ64(w);
    wn = w << lz;
    if (q >= 0) {
        pw = fr__j_pow5[q];
        e2 = fr__pow5bits((int)q) - 125 + (int)q - lz; /* w*10^q ~ wn*pw * 2^e2 */
    } else {
        int t = (int)-q;
        pw = fr__j_pow5_inv[t];
        e2 = -(fr__pow5bits(t) - 1 + 125) - t - lz;
    }
    a0 = fr__umul128(wn, pw[0], &a1);
    b0 = fr__umul128(wn, pw[1], &b1);
    (void)a0; /* the lowest limb only carries the table error */
    l1 = a1 + b0;
    l2 = b1 + (l1 < a1); /* product in [2^187, 2^189): l2 in [2^59, 2^61) */
    hb = 63 - FR__CLZ64(l2);
    sh = hb - 53;
    m = l2 >> sh; /* 53 bits + round bit */
    lowmask = (1ULL << sh) - 1;
    low = l2 & lowmask;
    if (m & 1) {
        if (low == 0 && l1 == 0) return 0; /* at or just above halfway */
    } else {
        if (low == lowmask && l1 == UINT64_MAX) return 0; /* just below halfway */
    }
    m = (m >> 1) + (m & 1);
    be = hb - 52 + 128 + e2;
    if (m == (1ULL << 53)) {
        m >>= 1;
        be++;
    }
    if (be + 52 + 1023 < 1 || be + 52 + 1023 > 2046) return 0; /* subnormal / overflow */
    bits = ((uint64_t)(be + 52 + 1023) << 52) | (m & ((1ULL << 52) - 1));
    memcpy(out, &bits, sizeof bits);
    return 1;
}

/* ------------------------------------------------------------------ */
/* number scanning                                                     */
/* ------------------------------------------------------------------ */

typedef struct fr__jnum {
    int type; /* FR_JSON_INT / BIGINT / DOUBLE */
    int64_t i;
    double d;
} fr__jnum;

static int fr__is_digit(unsigned c) { return c - '0' < 10u; }

/* Scan the number at *pp (first char is '-' or a digit). On success sets
 * *pp past it. On failure returns an error code and sets *errp and *msg. */
static int fr__json_number(const unsigned char **pp, const unsigned char *end, fr__jnum *out,
                           const unsigned char **errp, const char **msg) {
    const unsigned char *p = *pp, *start = p, *q;
    int neg = 0, has_frac = 0, has_exp = 0;
    uint64_t m = 0;
    size_t nsig = 0, nint = 0, nfrac = 0;
    long long expv = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p == end || !fr__is_digit(*p)) {
        *errp = p;
        *msg = "expected a digit";
        return FR_JSON_E_NUMBER;
    }
    if (*p == '0') {
        p++;
        nint = 1;
        if (p < end && fr__is_digit(*p)) {
            *errp = p - 1;
            *msg = "leading zero in number";
            return FR_JSON_E_NUMBER;
        }
    } else {
        q = p;
        while (p < end && fr__is_digit(*p)) {
            if (p - q < 19) m = m * 10 + (unsigned)(*p - '0');
            p++;
        }
        nint = (size_t)(p - q);
        nsig = nint;
    }
    if (p < end && *p == '.') {
        p++;
        has_frac = 1;
        if (p == end || !fr__is_digit(*p)) {
            *errp = p;
            *msg = "expected a digit after '.'";
            return FR_JSON_E_NUMBER;
        }
        q = p;
        while (p < end && fr__is_digit(*p)) {
            unsigned d = (unsigned)(*p - '0');
            if (nsig == 0 && d == 0) {
                /* leading zeros of the fraction are not significant */
            } else {
                if (nsig < 19) m = m * 10 + d;
                nsig++;
            }
            p++;
        }
        nfrac = (size_t)(p - q);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0;
        p++;
        has_exp = 1;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        if (p == end || !fr__is_digit(*p)) {
            *errp = p;
            *msg = "expected a digit in the exponent";
            return FR_JSON_E_NUMBER;
        }
        while (p < end && fr__is_digit(*p)) {
            if (expv < 1000000000000LL) expv = expv * 10 + (*p - '0'); /* saturate */
            p++;
        }
        if (eneg) expv = -expv;
    }
    *pp = p;

    if (!has_frac && !has_exp) {
        if (nint <= 19) {
            /* m < 10^19 < 2^64: exact */
            if (m <= (uint64_t)INT64_MAX) {
                out->type = FR_JSON_INT;
                out->i = neg ? -(int64_t)m : (int64_t)m;
                return 0;
            }
            if (neg && m == (uint64_t)INT64_MAX + 1u) {
                out->type = FR_JSON_INT;
                out->i = INT64_MIN;
                return 0;
            }
        }
        out->type = FR_JSON_BIGINT;
        return 0;
    }

    out->type = FR_JSON_DOUBLE;
    {
        long long nf = (uint64_t)nfrac > 1000000000000ULL ? 1000000000000LL : (long long)nfrac;
        long long e10 = expv - nf; /* value = (int digits . frac digits) as integer * 10^e10 */
        double d;
        if (nsig == 0) {
            out->d = neg ? -0.0 : 0.0;
            return 0;
        }
        if (nsig > 19) {
            /* m holds the first 19 significant digits only */
            goto slow;
        }
#if FR__J_EXACT_FP
        if (m <= (1ULL << 53) && e10 >= -22 && e10 <= 22 + 15) {
            d = (double)m;
            if (e10 < 0) {
                out->d = neg ? -(d / fr__json_pow10[-e10]) : d / fr__json_pow10[-e10];
                return 0;
            }
            if (e10 > 22) {
                /* m * 10^(e10-22) still exact as an integer? */
                uint64_t mm = m;
                long long k;
                for (k = e10 - 22; k > 0 && mm <= (1ULL << 53); k--) mm *= 10;
                if (k > 0 || mm > (1ULL << 53)) goto slow;
                d = (double)mm * 1e22;
            } else {
                d = d * fr__json_pow10[e10];
            }
            out->d = neg ? -d : d;
            return 0;
        }
#endif
        if (fr__json_dec_fast(m, e10, &d)) {
            out->d = neg ? -d : d;
            return 0;
        }
    slow: {
        /* canonical digits (no leading zeros, at most FR__J_MAXDIG, then a
         * sticky '1' if anything non-zero was dropped) + exponent */
        char dig[FR__J_MAXDIG + 1];
        size_t nd = 0, dropped = 0;
        int sticky = 0;
        const unsigned char *r = start + neg;
        for (; r < p && *r != 'e' && *r != 'E'; r++) {
            if (*r == '.') continue;
            if (nd == 0 && *r == '0') continue;
            if (nd < FR__J_MAXDIG) {
                dig[nd++] = (char)*r;
            } else {
                dropped++;
                if (*r != '0') sticky = 1;
            }
        }
        {
            long long ee = e10 + (long long)((uint64_t)dropped > 1000000000000ULL ? 1000000000000ULL : (uint64_t)dropped);
            if (sticky) {
                dig[nd++] = '1';
                ee--;
            }
            if (ee > 100000) ee = 100000; /* >= 10^100000: inf anyway */
            if (ee < -100000 - FR__J_MAXDIG) ee = -100000 - FR__J_MAXDIG; /* 0 anyway */
            d = fr__json_digits_to_double(dig, nd, (long)ee);
        }
        if (d > DBL_MAX) {
            *errp = start;
            *msg = "number out of double range";
            return FR_JSON_E_NUMBER;
        }
        out->d = neg ? -d : d;
        return 0;
    }
    }
}

/* ------------------------------------------------------------------ */
/* the reader                                                          */
/* ------------------------------------------------------------------ */

typedef struct fr__jreader {
    char *scratch; /* decoded strings with escapes (transient) */
    size_t scap;
    const unsigned char *errp;
    const char *msg;
} fr__jreader;

static int fr__json_scratch(fr__jreader *r, size_t need) {
    size_t cap;
    char *np;
    if (need <= r->scap) return 0;
    cap = r->scap ? r->scap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) return -1;
        cap *= 2;
    }
    np = (char *)FR_REALLOC(r->scratch, cap);
    if (!np) return -1;
    r->scratch = np;
    r->scap = cap;
    return 0;
}

static int fr__hex4(const unsigned char *p, unsigned *out) {
    unsigned v = 0;
    int i;
    for (i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c - '0' < 10u) d = c - '0';
        else if ((c | 0x20u) - 'a' < 6u) d = (c | 0x20u) - 'a' + 10;
        else return -1;
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

/* String body at *pp (just after the opening quote). On success: 0, *pp past
 * the closing quote, (*s, *n) either a view into the input (no escapes) or
 * into r->scratch. */
static int fr__json_string(fr__jreader *r, const unsigned char **pp, const unsigned char *end,
                           const char **s, size_t *n) {
    const unsigned char *p = *pp, *run = p;
    size_t olen = 0; /* bytes already decoded into scratch; escaped mode iff r->... */
    int escaped = 0;
    for (;;) {
        unsigned c;
        p = fr__json_skip_plain(p, end);
        if (p == end) {
            r->errp = p;
            r->msg = "unterminated string";
            return FR_JSON_E_STRING;
        }
        c = *p;
        if (c == '"') break;
        if (c >= 0x80) {
            size_t k = fr__utf8_seq(p, end);
            if (!k) {
                r->errp = p;
                r->msg = "invalid UTF-8 in string";
                return FR_JSON_E_UTF8;
            }
            p += k;
            continue;
        }
        if (c >= 0x20 && c != '\\') {
            p++;
            continue;
        }
        if (c < 0x20) {
            r->errp = p;
            r->msg = "unescaped control character in string";
            return FR_JSON_E_STRING;
        }
        /* backslash: flush the run, decode the escape */
        {
            size_t rl = (size_t)(p - run);
            unsigned cp;
            char *o;
            if (rl > SIZE_MAX - 8 - olen || fr__json_scratch(r, olen + rl + 8) < 0) {
                r->errp = p;
                r->msg = "out of memory";
                return FR_JSON_E_NOMEM;
            }
            escaped = 1;
            memcpy(r->scratch + olen, run, rl);
            olen += rl;
            o = r->scratch + olen;
            if (end - p < 2) {
                r->errp = p;
                r->msg = "unterminated string";
                return FR_JSON_E_STRING;
            }
            switch (p[1]) {
            case '"': *o = '"'; olen++; p += 2; break;
            case '\\': *o = '\\'; olen++; p += 2; break;
            case '/': *o = '/'; olen++; p += 2; break;
            case 'b': *o = '\b'; olen++; p += 2; break;
            case 'f': *o = '\f'; olen++; p += 2; break;
            case 'n': *o = '\n'; olen++; p += 2; break;
            case 'r': *o = '\r'; olen++; p += 2; break;
            case 't': *o = '\t'; olen++; p += 2; break;
            case 'u':
                if (end - p < 6 || fr__hex4(p + 2, &cp) < 0) {
                    r->errp = p;
                    r->msg = "invalid \\u escape";
                    return FR_JSON_E_STRING;
                }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || fr__hex4(p + 8, &lo) < 0 ||
                        lo < 0xDC00 || lo > 0xDFFF) {
                        r->errp = p;
                        r->msg = "high surrogate escape not followed by a low one";
                        return FR_JSON_E_UTF8;
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 12;
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    r->errp = p;
                    r->msg = "lone low surrogate escape";
                    return FR_JSON_E_UTF8;
                } else {
                    p += 6;
                }
                if (cp < 0x80) {
                    o[0] = (char)cp;
                    olen += 1;
                } else if (cp < 0x800) {
                    o[0] = (char)(0xC0 | (cp >> 6));
                    o[1] = (char)(0x80 | (cp & 0x3F));
                    olen += 2;
                } else if (cp < 0x10000) {
                    o[0] = (char)(0xE0 | (cp >> 12));
                    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    o[2] = (char)(0x80 | (cp & 0x3F));
                    olen += 3;
                } else {
                    o[0] = (char)(0xF0 | (cp >> 18));
                    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
                    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    o[3] = (char)(0x80 | (cp & 0x3F));
                    olen += 4;
                }
                break;
            default:
                r->errp = p;
                r->msg = "invalid escape in string";
                return FR_JSON_E_STRING;
            }
            run = p;
        }
    }
    /* p at the closing quote */
    if (!escaped) {
        *s = (const char *)run;
        *n = (size_t)(p - run);
    } else {
        size_t rl = (size_t)(p - run);
        if (rl > SIZE_MAX - 1 - olen || fr__json_scratch(r, olen + rl + 1) < 0) {
            r->errp = p;
            r->msg = "out of memory";
            return FR_JSON_E_NOMEM;
        }
        memcpy(r->scratch + olen, run, rl);
        olen += rl;
        *s = r->scratch;
        *n = olen;
    }
    *pp = p + 1;
    return 0;
}

#define FR__J_WS(c) ((c) == ' ' || (c) == '\n' || (c) == '\r' || (c) == '\t')

/* Double the container bit stack (the first 1024 levels live on the C
 * stack; deeper documents, allowed by a larger max_depth, grow it). */
static int fr__json_grow_stack(uint64_t **stk, size_t *words, uint64_t *local) {
    size_t nw = *words * 2;
    uint64_t *n;
    if (nw > SIZE_MAX / sizeof(uint64_t)) return -1;
    if (*stk == local) {
        n = (uint64_t *)FR_MALLOC(nw * sizeof(uint64_t));
        if (n) memcpy(n, local, *words * sizeof(uint64_t));
    } else {
        n = (uint64_t *)FR_REALLOC(*stk, nw * sizeof(uint64_t));
    }
    if (!n) return -1;
    *stk = n;
    *words = nw;
    return 0;
}

int fr_json_parse_events(const char *buf, size_t len, const fr_json_sax *sax, void *ctx,
                         int max_depth, fr_err *err) {
    static const fr_json_sax nosax = FR__ZERO_INIT; /* all NULL: validate only */
    const unsigned char *p = (const unsigned char *)buf, *beg, *end;
    uint64_t stk_local[16], *stk = stk_local; /* open containers, bit set = object */
    size_t stk_words = FR__COUNTOF(stk_local);   /* grows on demand up to max_depth */
    int depth = 0, code = 0;
    fr__jreader r;
    const char *s;
    size_t n;
    fr__jnum num;

    r.scratch = NULL;
    r.scap = 0;
    r.errp = p;
    r.msg = NULL;
    if (!sax) sax = &nosax;
    if (max_depth <= 0) max_depth = FR_MAX_JSON_DEPTH;
    if (!buf) {
        static const unsigned char empty = 0;
        p = &empty;
        len = 0;
    }
    beg = p;
    end = p + len;

#define FR__J_FAIL(c, m, at) \
    do {                     \
        code = (c);          \
        r.msg = (m);         \
        r.errp = (at);       \
        goto done;           \
    } while (0)
#define FR__J_EMIT(cb, ...)                                                       \
    do {                                                                          \
        if (sax->cb && sax->cb(__VA_ARGS__))                                      \
            FR__J_FAIL(FR_JSON_E_ABORTED, "aborted by a callback", p);            \
    } while (0)
#define FR__J_SKIPWS() \
    while (p < end && FR__J_WS(*p)) p++
#define FR__J_PUSH_ROOM()                                                                  \
    do {                                                                                   \
        if (depth >= max_depth) FR__J_FAIL(FR_JSON_E_DEPTH, "nesting too deep", p);        \
        if (FR__UNLIKELY((size_t)depth >> 6 >= stk_words) &&                               \
            fr__json_grow_stack(&stk, &stk_words, stk_local) < 0)                          \
            FR__J_FAIL(FR_JSON_E_NOMEM, "out of memory", p);                               \
    } while (0)

value:
    FR__J_SKIPWS();
    if (p == end)
        FR__J_FAIL(FR_JSON_E_SYNTAX, p == beg ? "empty input" : "unexpected end of input", p);
    switch (*p) {
    case '{':
        FR__J_PUSH_ROOM();
        stk[depth >> 6] |= 1ULL << (depth & 63);
        depth++;
        p++;
        FR__J_EMIT(on_start_object, ctx);
        FR__J_SKIPWS();
        if (p < end && *p == '}') {
            p++;
            depth--;
            FR__J_EMIT(on_end_object, ctx);
            goto after;
        }
        goto key;
    case '[':
        FR__J_PUSH_ROOM();
        stk[depth >> 6] &= ~(1ULL << (depth & 63));
        depth++;
        p++;
        FR__J_EMIT(on_start_array, ctx);
        FR__J_SKIPWS();
        if (p < end && *p == ']') {
            p++;
            depth--;
            FR__J_EMIT(on_end_array, ctx);
            goto after;
        }
        goto value;
    case '"':
        p++;
        if ((code = fr__json_string(&r, &p, end, &s, &n)) != 0) goto done;
        FR__J_EMIT(on_string, ctx, s, n);
        goto after;
    case 't':
        if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
            p += 4;
            FR__J_EMIT(on_bool, ctx, 1);
            goto after;
        }
        FR__J_FAIL(FR_JSON_E_SYNTAX, "invalid literal", p);
    case 'f':
        if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
            p += 5;
            FR__J_EMIT(on_bool, ctx, 0);
            goto after;
        }
        FR__J_FAIL(FR_JSON_E_SYNTAX, "invalid literal", p);
    case 'n':
        if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
            p += 4;
            FR__J_EMIT(on_null, ctx);
            goto after;
        }
        FR__J_FAIL(FR_JSON_E_SYNTAX, "invalid literal", p);
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9': {
        const unsigned char *ns = p;
        if ((code = fr__json_number(&p, end, &num, &r.errp, &r.msg)) != 0) goto done;
        if (num.type == FR_JSON_INT) FR__J_EMIT(on_int, ctx, num.i);
        else if (num.type == FR_JSON_DOUBLE) FR__J_EMIT(on_double, ctx, num.d);
        else FR__J_EMIT(on_bigint, ctx, (const char *)ns, (size_t)(p - ns));
        goto after;
    }
    default:
        FR__J_FAIL(FR_JSON_E_SYNTAX, "unexpected character", p);
    }

key:
    if (p == end) FR__J_FAIL(FR_JSON_E_SYNTAX, "unexpected end of input", p);
    if (*p != '"') FR__J_FAIL(FR_JSON_E_SYNTAX, "expected a string key", p);
    p++;
    if ((code = fr__json_string(&r, &p, end, &s, &n)) != 0) goto done;
    FR__J_EMIT(on_key, ctx, s, n);
    FR__J_SKIPWS();
    if (p == end || *p != ':') FR__J_FAIL(FR_JSON_E_SYNTAX, "expected ':'", p);
    p++;
    goto value;

after:
    FR__J_SKIPWS();
    if (depth == 0) {
        if (p != end) FR__J_FAIL(FR_JSON_E_SYNTAX, "trailing characters after the value", p);
        goto done;
    }
    if (p == end) FR__J_FAIL(FR_JSON_E_SYNTAX, "unexpected end of input", p);
    if ((stk[(depth - 1) >> 6] >> ((depth - 1) & 63)) & 1u) {
        if (*p == ',') {
            p++;
            FR__J_SKIPWS();
            goto key;
        }
        if (*p == '}') {
            p++;
            depth--;
            FR__J_EMIT(on_end_object, ctx);
            goto after;
        }
        FR__J_FAIL(FR_JSON_E_SYNTAX, "expected ',' or '}'", p);
    }
    if (*p == ',') {
        p++;
        goto value;
    }
    if (*p == ']') {
        p++;
        depth--;
        FR__J_EMIT(on_end_array, ctx);
        goto after;
    }
    FR__J_FAIL(FR_JSON_E_SYNTAX, "expected ',' or ']'", p);

#undef FR__J_FAIL
#undef FR__J_EMIT
#undef FR__J_SKIPWS
#undef FR__J_PUSH_ROOM

done:
    if (stk != stk_local) FR_FREE(stk);
    FR_FREE(r.scratch);
    if (err) {
        err->code = code;
        err->msg = code ? r.msg : NULL;
        err->pos = code ? (size_t)(r.errp - beg) : 0;
    }
    return code;
}

/* ------------------------------------------------------------------ */
/* DOM builder (an event client)                                       */
/* ------------------------------------------------------------------ */

typedef struct fr__jframe {
    fr_json_val *v;
    size_t start; /* first child in the item stack */
} fr__jframe;

typedef struct fr__jdom {
    fr_arena *a;
    fr_json_member *items; /* children of all open containers, in order */
    size_t n, cap;
    fr__jframe *frames;
    size_t nf, fcap;
    fr_str key; /* pending object key */
    fr_json_val *root;
    int oom;
} fr__jdom;

static int fr__jdom_oom(fr__jdom *d) {
    d->oom = 1;
    return 1;
}

static fr_json_val *fr__jdom_new(fr__jdom *d, int type) {
    fr_json_val *v = (fr_json_val *)fr_arena_alloc(d->a, sizeof *v);
    if (!v) return NULL;
    memset(v, 0, sizeof *v);
    v->type = type;
    return v;
}

/* attach v to the open container (or make it the root) */
static int fr__jdom_push(fr__jdom *d, fr_json_val *v) {
    if (!v) return fr__jdom_oom(d);
    if (d->nf == 0) {
        d->root = v;
        return 0;
    }
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 64;
        fr_json_member *ni;
        if (nc > SIZE_MAX / sizeof *ni) return fr__jdom_oom(d);
        ni = (fr_json_member *)FR_REALLOC(d->items, nc * sizeof *ni);
        if (!ni) return fr__jdom_oom(d);
        d->items = ni;
        d->cap = nc;
    }
    d->items[d->n].key = d->key;
    d->items[d->n].val = v;
    d->n++;
    d->key.buf = NULL;
    d->key.len = 0;
    return 0;
}

static int fr__jdom_null(void *ctx) {
    fr__jdom *d = (fr__jdom *)ctx;
    return fr__jdom_push(d, fr__jdom_new(d, FR_JSON_NULL));
}
static int fr__jdom_bool(void *ctx, int b) {
    fr__jdom *d = (fr__jdom *)ctx;
    fr_json_val *v = fr__jdom_new(d, FR_JSON_BOOL);
    if (v) v->u.b = b;
    return fr__jdom_push(d, v);
}
static int fr__jdom_int(void *ctx, int64_t i) {
    fr__jdom *d = (fr__jdom *)ctx;
    fr_json_val *v = fr__jdom_new(d, FR_JSON_INT);
    if (v) v->u.i = i;
    return fr__jdom_push(d, v);
}
static int fr__jdom_double(void *ctx, double x) {
    fr__jdom *d = (fr__jdom *)ctx;
    fr_json_val *v = fr__jdom_new(d, FR_JSON_DOUBLE);
    if (v) v->u.d = x;
    return fr__jdom_push(d, v);
}
static int fr__jdom_text(fr__jdom *d, int type, const char *s, size_t n) {
    /* the value and its NUL-terminated text in one arena block */
    fr_json_val *v;
    char *c;
    if (n > SIZE_MAX - sizeof *v - 1) return fr__jdom_oom(d);
    v = (fr_json_val *)fr_arena_alloc(d->a, sizeof *v + n + 1);
    if (!v) return fr__jdom_oom(d);
    c = (char *)(v + 1);
    memcpy(c, s, n);
    c[n] = 0;
    v->type = type;
    v->u.s.buf = c;
    v->u.s.len = n;
    return fr__jdom_push(d, v);
}
static int fr__jdom_bigint(void *ctx, const char *s, size_t n) {
    return fr__jdom_text((fr__jdom *)ctx, FR_JSON_BIGINT, s, n);
}
static int fr__jdom_string(void *ctx, const char *s, size_t n) {
    return fr__jdom_text((fr__jdom *)ctx, FR_JSON_STRING, s, n);
}
static int fr__jdom_key(void *ctx, const char *s, size_t n) {
    fr__jdom *d = (fr__jdom *)ctx;
    char *c = fr_arena_strdup(d->a, s, n);
    if (!c) return fr__jdom_oom(d);
    d->key.buf = c;
    d->key.len = n;
    return 0;
}
static int fr__jdom_open(fr__jdom *d, int type) {
    fr_json_val *v = fr__jdom_new(d, type);
    if (fr__jdom_push(d, v)) return 1;
    if (d->nf == d->fcap) {
        size_t nc = d->fcap ? d->fcap * 2 : 16;
        fr__jframe *nf = (fr__jframe *)FR_REALLOC(d->frames, nc * sizeof *nf);
        if (!nf) return fr__jdom_oom(d);
        d->frames = nf;
        d->fcap = nc;
    }
    d->frames[d->nf].v = v;
    d->frames[d->nf].start = d->n;
    d->nf++;
    return 0;
}
static int fr__jdom_start_object(void *ctx) { return fr__jdom_open((fr__jdom *)ctx, FR_JSON_OBJECT); }
static int fr__jdom_start_array(void *ctx) { return fr__jdom_open((fr__jdom *)ctx, FR_JSON_ARRAY); }
static int fr__jdom_close(fr__jdom *d) {
    fr__jframe f = d->frames[--d->nf];
    size_t cnt = d->n - f.start, i;
    if (f.v->type == FR_JSON_OBJECT) {
        fr_json_member *m = NULL;
        if (cnt) {
            m = (fr_json_member *)fr_arena_alloc(d->a, cnt * sizeof *m);
            if (!m) return fr__jdom_oom(d);
            memcpy(m, d->items + f.start, cnt * sizeof *m);
        }
        f.v->u.obj.items = m;
        f.v->u.obj.len = cnt;
    } else {
        fr_json_val **a = NULL;
        if (cnt) {
            a = (fr_json_val **)fr_arena_alloc(d->a, cnt * sizeof *a);
            if (!a) return fr__jdom_oom(d);
            for (i = 0; i < cnt; i++) a[i] = d->items[f.start + i].val;
        }
        f.v->u.arr.items = a;
        f.v->u.arr.len = cnt;
    }
    d->n = f.start;
    return 0;
}
static int fr__jdom_end(void *ctx) { return fr__jdom_close((fr__jdom *)ctx); }

fr_json_val *fr_json_parse(const char *buf, size_t len, fr_arena *a, int max_depth, fr_err *err) {
    static const fr_json_sax dom_sax = {
        fr__jdom_null,   fr__jdom_bool,         fr__jdom_int,        fr__jdom_bigint,
        fr__jdom_double, fr__jdom_string,       fr__jdom_key,        fr__jdom_start_object,
        fr__jdom_end,    fr__jdom_start_array,  fr__jdom_end};
    fr__jdom d;
    fr_err e;
    int rc;
    if (!a) {
        if (err) {
            err->code = FR_JSON_E_NOMEM;
            err->msg = "no arena";
            err->pos = 0;
        }
        return NULL;
    }
    memset(&d, 0, sizeof d);
    d.a = a;
    rc = fr_json_parse_events(buf, len, &dom_sax, &d, max_depth, &e);
    FR_FREE(d.items);
    FR_FREE(d.frames);
    if (rc == FR_JSON_E_ABORTED && d.oom) {
        e.code = FR_JSON_E_NOMEM;
        e.msg = "out of memory";
    }
    if (err) *err = e;
    return e.code ? NULL : d.root;
}

fr_json_val *fr_json_get(const fr_json_val *obj, const char *key) {
    size_t i, kl;
    if (!obj || !key || obj->type != FR_JSON_OBJECT) return NULL;
    kl = strlen(key);
    for (i = obj->u.obj.len; i-- > 0;) { /* last match wins */
        const fr_json_member *m = &obj->u.obj.items[i];
        if (m->key.len == kl && memcmp(m->key.buf, key, kl) == 0) return m->val;
    }
    return NULL;
}

int fr_json_is_null(const fr_json_val *v) { return v && v->type == FR_JSON_NULL; }

int fr_json_as_str(const fr_json_val *v, fr_str *out) {
    if (!v) return 0;
    if (v->type != FR_JSON_STRING) return -1;
    if (out) *out = v->u.s;
    return 1;
}

int fr_json_as_i64(const fr_json_val *v, int64_t *out) {
    if (!v) return 0;
    if (v->type != FR_JSON_INT) return -1;
    if (out) *out = v->u.i;
    return 1;
}

int fr_json_as_f64(const fr_json_val *v, double *out) {
    double d;
    if (!v) return 0;
    if (v->type == FR_JSON_DOUBLE) d = v->u.d;
    else if (v->type == FR_JSON_INT) d = (double)v->u.i;
    else if (v->type != FR_JSON_BIGINT || fr_str_to_double(v->u.s, &d) < 0 || d - d != 0)
        return -1; /* d - d != 0: the digits overflow to inf */
    if (out) *out = d;
    return 1;
}

int fr_json_as_bool(const fr_json_val *v, int *out) {
    if (!v) return 0;
    if (v->type != FR_JSON_BOOL) return -1;
    if (out) *out = v->u.b != 0;
    return 1;
}

int fr_json_get_str(const fr_json_val *obj, const char *key, fr_str *out) {
    return fr_json_as_str(fr_json_get(obj, key), out);
}
int fr_json_get_i64(const fr_json_val *obj, const char *key, int64_t *out) {
    return fr_json_as_i64(fr_json_get(obj, key), out);
}
int fr_json_get_f64(const fr_json_val *obj, const char *key, double *out) {
    return fr_json_as_f64(fr_json_get(obj, key), out);
}
int fr_json_get_bool(const fr_json_val *obj, const char *key, int *out) {
    return fr_json_as_bool(fr_json_get(obj, key), out);
}

fr_json_val *fr_json_at(const fr_json_val *arr, size_t i) {
    if (!arr || arr->type != FR_JSON_ARRAY || i >= arr->u.arr.len) return NULL;
    return arr->u.arr.items[i];
}

size_t fr_json_len(const fr_json_val *v) {
    if (!v) return 0;
    if (v->type == FR_JSON_ARRAY) return v->u.arr.len;
    if (v->type == FR_JSON_OBJECT) return v->u.obj.len;
    return 0;
}

/* ------------------------------------------------------------------ */
/* writer building blocks                                              */
/* ------------------------------------------------------------------ */

int fr_json_write_string(fr_buf *out, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p, *end, *run;
    size_t start_len;
    if (!out || (!s && len)) return -1;
    p = (const unsigned char *)(s ? s : "");
    end = p + len;
    start_len = out->len;
    if (len > SIZE_MAX - 2 || fr_buf_reserve(out, len + 2) < 0) return -1;
    out->buf[out->len++] = '"';
    run = p;
    while (p < end) {
        unsigned c;
        p = fr__json_skip_plain(p, end);
        if (p == end) break;
        c = *p;
        if (c >= 0x80) {
            size_t k = fr__utf8_seq(p, end);
            if (!k) goto fail;
            p += k;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            p++;
            continue;
        }
        if (fr_buf_append(out, run, (size_t)(p - run)) < 0 || fr_buf_reserve(out, 6) < 0)
            goto fail;
        {
            char *o = out->buf + out->len;
            o[0] = '\\';
            switch (c) {
            case '"': o[1] = '"'; out->len += 2; break;
            case '\\': o[1] = '\\'; out->len += 2; break;
            case '\n': o[1] = 'n'; out->len += 2; break;
            case '\r': o[1] = 'r'; out->len += 2; break;
            case '\t': o[1] = 't'; out->len += 2; break;
            case '\b': o[1] = 'b'; out->len += 2; break;
            case '\f': o[1] = 'f'; out->len += 2; break;
            default:
                o[1] = 'u';
                o[2] = '0';
                o[3] = '0';
                o[4] = hex[c >> 4];
                o[5] = hex[c & 15];
                out->len += 6;
            }
        }
        p++;
        run = p;
    }
    if (fr_buf_append(out, run, (size_t)(p - run)) < 0 || fr_buf_append_char(out, '"') < 0)
        goto fail;
    return 0;
fail:
    out->len = start_len;
    return -1;
}

/* ---- shortest round-trip double formatting (Python repr) ----
 *
 * CPython's repr(float) is David Gay's dtoa mode 0: the shortest decimal
 * that reads back as v and, among equally short ones, the nearest to v
 * (ties to even). The digits come from Raffaello Giulietti's Schubfach
 * ("The Schubfach way to render doubles", 2020; the algorithm of Java 19's
 * Double.toString, and of yyjson's writer): pick k with 10^k <= the width
 * of v's rounding interval, so the interval holds one or two multiples of
 * 10^k and at most one of 10^(k+1); scale v and both bounds by 10^-k with
 * one 64x128-bit multiply each, rounded to odd (the sticky low bit keeps
 * "exact or not"), and choose with a few compares: the multiple of 10^(k+1)
 * if the interval holds it, else the nearer multiple of 10^k. No digit-by-
 * digit loop, unlike Ryu. Most values take a cheaper path to the same
 * answer first (fr__j_decimal: one multiply, no bounds). */

/* fr__j_pow10_sig[e + 292] = the 128 leading bits of 10^e (top bit set),
 * e in [-292, 324], rounded up unless exact (e in 0..55). Stored {low,
 * high}. Generated with exact integers in Python. */
static const uint64_t fr__j_pow10_sig[617][2] = {
    {0x25e8e89c13bb0f7bULL, 0xff77b1fcbebcdc4fULL},
    {0x77b191618c54e9adULL, 0x9faacf3df73609b1ULL},
    {0xd59df5b9ef6a2418ULL, 0xc795830d75038c1dULL},
    {0x4b0573286b44ad1eULL, 0xf97ae3d0d2446f25ULL},
    {0x4ee367f9430aec33ULL, 0x9becce62836ac577ULL},
    {0x229c41f793cda740ULL, 0xc2e801fb244576d5ULL},
    {0x6b43527578c11110ULL, 0xf3a20279ed56d48aULL},
    {0x830a13896b78aaaaULL, 0x9845418c345644d6ULL},
    {0x23cc986bc656d554ULL, 0xbe5691ef416bd60cULL},
    {0x2cbfbe86b7ec8aa9ULL, 0xedec366b11c6cb8fULL},
    {0x7bf7d71432f3d6aaULL, 0x94b3a202eb1c3f39ULL},
    {0xdaf5ccd93fb0cc54ULL, 0xb9e08a83a5e34f07ULL},
    {0xd1b3400f8f9cff69ULL, 0xe858ad248f5c22c9ULL},
    {0x23100809b9c21fa2ULL, 0x91376c36d99995beULL},
    {0xabd40a0c2832a78bULL, 0xb58547448ffffb2dULL},
    {0x16c90c8f323f516dULL, 0xe2e69915b3fff9f9ULL},
    {0xae3da7d97f6792e4ULL, 0x8dd01fad907ffc3bULL},
    {0x99cd11cfdf41779dULL, 0xb1442798f49ffb4aULL},
    {0x40405643d711d584ULL, 0xdd95317f31c7fa1dULL},
    {0x482835ea666b2573ULL, 0x8a7d3eef7f1cfc52ULL},
    {0xda3243650005eed0ULL, 0xad1c8eab5ee43b66ULL},
    {0x90bed43e40076a83ULL, 0xd863b256369d4a40ULL},
    {0x5a7744a6e804a292ULL, 0x873e4f75e2224e68ULL},
    {0x711515d0a205cb37ULL, 0xa90de3535aaae202ULL},
    {0x0d5a5b44ca873e04ULL, 0xd3515c2831559a83ULL},
    {0xe858790afe9486c3ULL, 0x8412d9991ed58091ULL},
    {0x626e974dbe39a873ULL, 0xa5178fff668ae0b6ULL},
    {0xfb0a3d212dc81290ULL, 0xce5d73ff402d98e3ULL},
    {0x7ce66634bc9d0b9aULL, 0x80fa687f881c7f8eULL},
    {0x1c1fffc1ebc44e81ULL, 0xa139029f6a239f72ULL},
    {0xa327ffb266b56221ULL, 0xc987434744ac874eULL},
    {0x4bf1ff9f0062baa9ULL, 0xfbe9141915d7a922ULL},
    {0x6f773fc3603db4aaULL, 0x9d71ac8fada6c9b5ULL},
    {0xcb550fb4384d21d4ULL, 0xc4ce17b399107c22ULL},
    {0x7e2a53a146606a49ULL, 0xf6019da07f549b2bULL},
    {0x2eda7444cbfc426eULL, 0x99c102844f94e0fbULL},
    {0xfa911155fefb5309ULL, 0xc0314325637a1939ULL},
    {0x793555ab7eba27cbULL, 0xf03d93eebc589f88ULL},
    {0x4bc1558b2f3458dfULL, 0x96267c7535b763b5ULL},
    {0x9eb1aaedfb016f17ULL, 0xbbb01b9283253ca2ULL},
    {0x465e15a979c1caddULL, 0xea9c227723ee8bcbULL},
    {0x0bfacd89ec191ecaULL, 0x92a1958a7675175fULL},
    {0xcef980ec671f667cULL, 0xb749faed14125d36ULL},
    {0x82b7e12780e7401bULL, 0xe51c79a85916f484ULL},
    {0xd1b2ecb8b0908811ULL, 0x8f31cc0937ae58d2ULL},
    {0x861fa7e6dcb4aa16ULL, 0xb2fe3f0b8599ef07ULL},
    {0x67a791e093e1d49bULL, 0xdfbdcece67006ac9ULL},
    {0xe0c8bb2c5c6d24e1ULL, 0x8bd6a141006042bdULL},
    {0x58fae9f773886e19ULL, 0xaecc49914078536dULL},
    {0xaf39a475506a899fULL, 0xda7f5bf590966848ULL},
    {0x6d8406c952429604ULL, 0x888f99797a5e012dULL},
    {0xc8e5087ba6d33b84ULL, 0xaab37fd7d8f58178ULL},
    {0xfb1e4a9a90880a65ULL, 0xd5605fcdcf32e1d6ULL},
    {0x5cf2eea09a550680ULL, 0x855c3be0a17fcd26ULL},
    {0xf42faa48c0ea481fULL, 0xa6b34ad8c9dfc06fULL},
    {0xf13b94daf124da27ULL, 0xd0601d8efc57b08bULL},
    {0x76c53d08d6b70859ULL, 0x823c12795db6ce57ULL},
    {0x54768c4b0c64ca6fULL, 0xa2cb1717b52481edULL},
    {0xa9942f5dcf7dfd0aULL, 0xcb7ddcdda26da268ULL},
    {0xd3f93b35435d7c4dULL, 0xfe5d54150b090b02ULL},
    {0xc47bc5014a1a6db0ULL, 0x9efa548d26e5a6e1ULL},
    {0x359ab6419ca1091cULL, 0xc6b8e9b0709f109aULL},
    {0xc30163d203c94b63ULL, 0xf867241c8cc6d4c0ULL},
    {0x79e0de63425dcf1eULL, 0x9b407691d7fc44f8ULL},
    {0x985915fc12f542e5ULL, 0xc21094364dfb5636ULL},
    {0x3e6f5b7b17b2939eULL, 0xf294b943e17a2bc4ULL},
    {0xa705992ceecf9c43ULL, 0x979cf3ca6cec5b5aULL},
    {0x50c6ff782a838354ULL, 0xbd8430bd08277231ULL},
    {0xa4f8bf5635246429ULL, 0xece53cec4a314ebdULL},
    {0x871b7795e136be9aULL, 0x940f4613ae5ed136ULL},
    {0x28e2557b59846e40ULL, 0xb913179899f68584ULL},
    {0x331aeada2fe589d0ULL, 0xe757dd7ec07426e5ULL},
    {0x3ff0d2c85def7622ULL, 0x9096ea6f3848984fULL},
    {0x0fed077a756b53aaULL, 0xb4bca50b065abe63ULL},
    {0xd3e8495912c62895ULL, 0xe1ebce4dc7f16dfbULL},
    {0x64712dd7abbbd95dULL, 0x8d3360f09cf6e4bdULL},
    {0xbd8d794d96aacfb4ULL, 0xb080392cc4349decULL},
    {0xecf0d7a0fc5583a1ULL, 0xdca04777f541c567ULL},
    {0xf41686c49db57245ULL, 0x89e42caaf9491b60ULL},
    {0x311c2875c522ced6ULL, 0xac5d37d5b79b6239ULL},
    {0x7d633293366b828cULL, 0xd77485cb25823ac7ULL},
    {0xae5dff9c02033198ULL, 0x86a8d39ef77164bcULL},
    {0xd9f57f830283fdfdULL, 0xa8530886b54dbdebULL},
    {0xd072df63c324fd7cULL, 0xd267caa862a12d66ULL},
    {0x4247cb9e59f71e6eULL, 0x8380dea93da4bc60ULL},
    {0x52d9be85f074e609ULL, 0xa46116538d0deb78ULL},
    {0x67902e276c921f8cULL, 0xcd795be870516656ULL},
    {0x00ba1cd8a3db53b7ULL, 0x806bd9714632dff6ULL},
    {0x80e8a40eccd228a5ULL, 0xa086cfcd97bf97f3ULL},
    {0x6122cd128006b2ceULL, 0xc8a883c0fdaf7df0ULL},
    {0x796b805720085f82ULL, 0xfad2a4b13d1b5d6cULL},
    {0xcbe3303674053bb1ULL, 0x9cc3a6eec6311a63ULL},
    {0xbedbfc4411068a9dULL, 0xc3f490aa77bd60fcULL},
    {0xee92fb5515482d45ULL, 0xf4f1b4d515acb93bULL},
    {0x751bdd152d4d1c4bULL, 0x991711052d8bf3c5ULL},
    {0xd262d45a78a0635eULL, 0xbf5cd54678eef0b6ULL},
    {0x86fb897116c87c35ULL, 0xef340a98172aace4ULL},
    {0xd45d35e6ae3d4da1ULL, 0x9580869f0e7aac0eULL},
    {0x8974836059cca10aULL, 0xbae0a846d2195712ULL},
    {0x2bd1a438703fc94cULL, 0xe998d258869facd7ULL},
    {0x7b6306a34627ddd0ULL, 0x91ff83775423cc06ULL},
    {0x1a3bc84c17b1d543ULL, 0xb67f6455292cbf08ULL},
    {0x20caba5f1d9e4a94ULL, 0xe41f3d6a7377eecaULL},
    {0x547eb47b7282ee9dULL, 0x8e938662882af53eULL},
    {0xe99e619a4f23aa44ULL, 0xb23867fb2a35b28dULL},
    {0x6405fa00e2ec94d5ULL, 0xdec681f9f4c31f31ULL},
    {0xde83bc408dd3dd05ULL, 0x8b3c113c38f9f37eULL},
    {0x9624ab50b148d446ULL, 0xae0b158b4738705eULL},
    {0x3badd624dd9b0958ULL, 0xd98ddaee19068c76ULL},
    {0xe54ca5d70a80e5d7ULL, 0x87f8a8d4cfa417c9ULL},
    {0x5e9fcf4ccd211f4dULL, 0xa9f6d30a038d1dbcULL},
    {0x7647c32000696720ULL, 0xd47487cc8470652bULL},
    {0x29ecd9f40041e074ULL, 0x84c8d4dfd2c63f3bULL},
    {0xf468107100525891ULL, 0xa5fb0a17c777cf09ULL},
    {0x7182148d4066eeb5ULL, 0xcf79cc9db955c2ccULL},
    {0xc6f14cd848405531ULL, 0x81ac1fe293d599bfULL},
    {0xb8ada00e5a506a7dULL, 0xa21727db38cb002fULL},
    {0xa6d90811f0e4851dULL, 0xca9cf1d206fdc03bULL},
    {0x908f4a166d1da664ULL, 0xfd442e4688bd304aULL},
    {0x9a598e4e043287ffULL, 0x9e4a9cec15763e2eULL},
    {0x40eff1e1853f29feULL, 0xc5dd44271ad3cdbaULL},
    {0xd12bee59e68ef47dULL, 0xf7549530e188c128ULL},
    {0x82bb74f8301958cfULL, 0x9a94dd3e8cf578b9ULL},
    {0xe36a52363c1faf02ULL, 0xc13a148e3032d6e7ULL},
    {0xdc44e6c3cb279ac2ULL, 0xf18899b1bc3f8ca1ULL},
    {0x29ab103a5ef8c0baULL, 0x96f5600f15a7b7e5ULL},
    {0x7415d448f6b6f0e8ULL, 0xbcb2b812db11a5deULL},
    {0x111b495b3464ad22ULL, 0xebdf661791d60f56ULL},
    {0xcab10dd900beec35ULL, 0x936b9fcebb25c995ULL},
    {0x3d5d514f40eea743ULL, 0xb84687c269ef3bfbULL},
    {0x0cb4a5a3112a5113ULL, 0xe65829b3046b0afaULL},
    {0x47f0e785eaba72acULL, 0x8ff71a0fe2c2e6dcULL},
    {0x59ed216765690f57ULL, 0xb3f4e093db73a093ULL},
    {0x306869c13ec3532dULL, 0xe0f218b8d25088b8ULL},
    {0x1e414218c73a13fcULL, 0x8c974f7383725573ULL},
    {0xe5d1929ef90898fbULL, 0xafbd2350644eeacfULL},
    {0xdf45f746b74abf3aULL, 0xdbac6c247d62a583ULL},
    {0x6b8bba8c328eb784ULL, 0x894bc396ce5da772ULL},
    {0x066ea92f3f326565ULL, 0xab9eb47c81f5114fULL},
    {0xc80a537b0efefebeULL, 0xd686619ba27255a2ULL},
    {0xbd06742ce95f5f37ULL, 0x8613fd0145877585ULL},
    {0x2c48113823b73705ULL, 0xa798fc4196e952e7ULL},
    {0xf75a15862ca504c6ULL, 0xd17f3b51fca3a7a0ULL},
    {0x9a984d73dbe722fcULL, 0x82ef85133de648c4ULL},
    {0xc13e60d0d2e0ebbbULL, 0xa3ab66580d5fdaf5ULL},
    {0x318df905079926a9ULL, 0xcc963fee10b7d1b3ULL},
    {0xfdf17746497f7053ULL, 0xffbbcfe994e5c61fULL},
    {0xfeb6ea8bedefa634ULL, 0x9fd561f1fd0f9bd3ULL},
    {0xfe64a52ee96b8fc1ULL, 0xc7caba6e7c5382c8ULL},
    {0x3dfdce7aa3c673b1ULL, 0xf9bd690a1b68637bULL},
    {0x06bea10ca65c084fULL, 0x9c1661a651213e2dULL},
    {0x486e494fcff30a63ULL, 0xc31bfa0fe5698db8ULL},
    {0x5a89dba3c3efccfbULL, 0xf3e2f893dec3f126ULL},
    {0xf89629465a75e01dULL, 0x986ddb5c6b3a76b7ULL},
    {0xf6bbb397f1135824ULL, 0xbe89523386091465ULL},
    {0x746aa07ded582e2dULL, 0xee2ba6c0678b597fULL},
    {0xa8c2a44eb4571cddULL, 0x94db483840b717efULL},
    {0x92f34d62616ce414ULL, 0xba121a4650e4ddebULL},
    {0x77b020baf9c81d18ULL, 0xe896a0d7e51e1566ULL},
    {0x0ace1474dc1d122fULL, 0x915e2486ef32cd60ULL},
    {0x0d819992132456bbULL, 0xb5b5ada8aaff80b8ULL},
    {0x10e1fff697ed6c6aULL, 0xe3231912d5bf60e6ULL},
    {0xca8d3ffa1ef463c2ULL, 0x8df5efabc5979c8fULL},
    {0xbd308ff8a6b17cb3ULL, 0xb1736b96b6fd83b3ULL},
    {0xac7cb3f6d05ddbdfULL, 0xddd0467c64bce4a0ULL},
    {0x6bcdf07a423aa96cULL, 0x8aa22c0dbef60ee4ULL},
    {0x86c16c98d2c953c7ULL, 0xad4ab7112eb3929dULL},
    {0xe871c7bf077ba8b8ULL, 0xd89d64d57a607744ULL},
    {0x11471cd764ad4973ULL, 0x87625f056c7c4a8bULL},
    {0xd598e40d3dd89bd0ULL, 0xa93af6c6c79b5d2dULL},
    {0x4aff1d108d4ec2c4ULL, 0xd389b47879823479ULL},
    {0xcedf722a585139bbULL, 0x843610cb4bf160cbULL},
    {0xc2974eb4ee658829ULL, 0xa54394fe1eedb8feULL},
    {0x733d226229feea33ULL, 0xce947a3da6a9273eULL},
    {0x0806357d5a3f5260ULL, 0x811ccc668829b887ULL},
    {0xca07c2dcb0cf26f8ULL, 0xa163ff802a3426a8ULL},
    {0xfc89b393dd02f0b6ULL, 0xc9bcff6034c13052ULL},
    {0xbbac2078d443ace3ULL, 0xfc2c3f3841f17c67ULL},
    {0xd54b944b84aa4c0eULL, 0x9d9ba7832936edc0ULL},
    {0x0a9e795e65d4df12ULL, 0xc5029163f384a931ULL},
    {0x4d4617b5ff4a16d6ULL, 0xf64335bcf065d37dULL},
    {0x504bced1bf8e4e46ULL, 0x99ea0196163fa42eULL},
    {0xe45ec2862f71e1d7ULL, 0xc06481fb9bcf8d39ULL},
    {0x5d767327bb4e5a4dULL, 0xf07da27a82c37088ULL},
    {0x3a6a07f8d510f870ULL, 0x964e858c91ba2655ULL},
    {0x890489f70a55368cULL, 0xbbe226efb628afeaULL},
    {0x2b45ac74ccea842fULL, 0xeadab0aba3b2dbe5ULL},
    {0x3b0b8bc90012929eULL, 0x92c8ae6b464fc96fULL},
    {0x09ce6ebb40173745ULL, 0xb77ada0617e3bbcbULL},
    {0xcc420a6a101d0516ULL, 0xe55990879ddcaabdULL},
    {0x9fa946824a12232eULL, 0x8f57fa54c2a9eab6ULL},
    {0x47939822dc96abfaULL, 0xb32df8e9f3546564ULL},
    {0x59787e2b93bc56f8ULL, 0xdff9772470297ebdULL},
    {0x57eb4edb3c55b65bULL, 0x8bfbea76c619ef36ULL},
    {0xede622920b6b23f2ULL, 0xaefae51477a06b03ULL},
    {0xe95fab368e45eceeULL, 0xdab99e59958885c4ULL},
    {0x11dbcb0218ebb415ULL, 0x88b402f7fd75539bULL},
    {0xd652bdc29f26a11aULL, 0xaae103b5fcd2a881ULL},
    {0x4be76d3346f04960ULL, 0xd59944a37c0752a2ULL},
    {0x6f70a4400c562ddcULL, 0x857fcae62d8493a5ULL},
    {0xcb4ccd500f6bb953ULL, 0xa6dfbd9fb8e5b88eULL},
    {0x7e2000a41346a7a8ULL, 0xd097ad07a71f26b2ULL},
    {0x8ed400668c0c28c9ULL, 0x825ecc24c873782fULL},
    {0x728900802f0f32fbULL, 0xa2f67f2dfa90563bULL},
    {0x4f2b40a03ad2ffbaULL, 0xcbb41ef979346bcaULL},
    {0xe2f610c84987bfa9ULL, 0xfea126b7d78186bcULL},
    {0x0dd9ca7d2df4d7caULL, 0x9f24b832e6b0f436ULL},
    {0x91503d1c79720dbcULL, 0xc6ede63fa05d3143ULL},
    {0x75a44c6397ce912bULL, 0xf8a95fcf88747d94ULL},
    {0xc986afbe3ee11abbULL, 0x9b69dbe1b548ce7cULL},
    {0xfbe85badce996169ULL, 0xc24452da229b021bULL},
    {0xfae27299423fb9c4ULL, 0xf2d56790ab41c2a2ULL},
    {0xdccd879fc967d41bULL, 0x97c560ba6b0919a5ULL},
    {0x5400e987bbc1c921ULL, 0xbdb6b8e905cb600fULL},
    {0x290123e9aab23b69ULL, 0xed246723473e3813ULL},
    {0xf9a0b6720aaf6522ULL, 0x9436c0760c86e30bULL},
    {0xf808e40e8d5b3e6aULL, 0xb94470938fa89bceULL},
    {0xb60b1d1230b20e05ULL, 0xe7958cb87392c2c2ULL},
    {0xb1c6f22b5e6f48c3ULL, 0x90bd77f3483bb9b9ULL},
    {0x1e38aeb6360b1af4ULL, 0xb4ecd5f01a4aa828ULL},
    {0x25c6da63c38de1b1ULL, 0xe2280b6c20dd5232ULL},
    {0x579c487e5a38ad0fULL, 0x8d590723948a535fULL},
    {0x2d835a9df0c6d852ULL, 0xb0af48ec79ace837ULL},
    {0xf8e431456cf88e66ULL, 0xdcdb1b2798182244ULL},
    {0x1b8e9ecb641b5900ULL, 0x8a08f0f8bf0f156bULL},
    {0xe272467e3d222f40ULL, 0xac8b2d36eed2dac5ULL},
    {0x5b0ed81dcc6abb10ULL, 0xd7adf884aa879177ULL},
    {0x98e947129fc2b4eaULL, 0x86ccbb52ea94baeaULL},
    {0x3f2398d747b36225ULL, 0xa87fea27a539e9a5ULL},
    {0x8eec7f0d19a03aaeULL, 0xd29fe4b18e88640eULL},
    {0x1953cf68300424adULL, 0x83a3eeeef9153e89ULL},
    {0x5fa8c3423c052dd8ULL, 0xa48ceaaab75a8e2bULL},
    {0x3792f412cb06794eULL, 0xcdb02555653131b6ULL},
    {0xe2bbd88bbee40bd1ULL, 0x808e17555f3ebf11ULL},
    {0x5b6aceaeae9d0ec5ULL, 0xa0b19d2ab70e6ed6ULL},
    {0xf245825a5a445276ULL, 0xc8de047564d20a8bULL},
    {0xeed6e2f0f0d56713ULL, 0xfb158592be068d2eULL},
    {0x55464dd69685606cULL, 0x9ced737bb6c4183dULL},
    {0xaa97e14c3c26b887ULL, 0xc428d05aa4751e4cULL},
    {0xd53dd99f4b3066a9ULL, 0xf53304714d9265dfULL},
    {0xe546a8038efe402aULL, 0x993fe2c6d07b7fabULL},
    {0xde98520472bdd034ULL, 0xbf8fdb78849a5f96ULL},
    {0x963e66858f6d4441ULL, 0xef73d256a5c0f77cULL},
    {0xdde7001379a44aa9ULL, 0x95a8637627989aadULL},
    {0x5560c018580d5d53ULL, 0xbb127c53b17ec159ULL},
    {0xaab8f01e6e10b4a7ULL, 0xe9d71b689dde71afULL},
    {0xcab3961304ca70e9ULL, 0x9226712162ab070dULL},
    {0x3d607b97c5fd0d23ULL, 0xb6b00d69bb55c8d1ULL},
    {0x8cb89a7db77c506bULL, 0xe45c10c42a2b3b05ULL},
    {0x77f3608e92adb243ULL, 0x8eb98a7a9a5b04e3ULL},
    {0x55f038b237591ed4ULL, 0xb267ed1940f1c61cULL},
    {0x6b6c46dec52f6689ULL, 0xdf01e85f912e37a3ULL},
    {0x2323ac4b3b3da016ULL, 0x8b61313bbabce2c6ULL},
    {0xabec975e0a0d081bULL, 0xae397d8aa96c1b77ULL},
    {0x96e7bd358c904a22ULL, 0xd9c7dced53c72255ULL},
    {0x7e50d64177da2e55ULL, 0x881cea14545c7575ULL},
    {0xdde50bd1d5d0b9eaULL, 0xaa242499697392d2ULL},
    {0x955e4ec64b44e865ULL, 0xd4ad2dbfc3d07787ULL},
    {0xbd5af13bef0b113fULL, 0x84ec3c97da624ab4ULL},
    {0xecb1ad8aeacdd58fULL, 0xa6274bbdd0fadd61ULL},
    {0x67de18eda5814af3ULL, 0xcfb11ead453994baULL},
    {0x80eacf948770ced8ULL, 0x81ceb32c4b43fcf4ULL},
    {0xa1258379a94d028eULL, 0xa2425ff75e14fc31ULL},
    {0x096ee45813a04331ULL, 0xcad2f7f5359a3b3eULL},
    {0x8bca9d6e188853fdULL, 0xfd87b5f28300ca0dULL},
    {0x775ea264cf55347eULL, 0x9e74d1b791e07e48ULL},
    {0x95364afe032a819eULL, 0xc612062576589ddaULL},
    {0x3a83ddbd83f52205ULL, 0xf79687aed3eec551ULL},
    {0xc4926a9672793543ULL, 0x9abe14cd44753b52ULL},
    {0x75b7053c0f178294ULL, 0xc16d9a0095928a27ULL},
    {0x5324c68b12dd6339ULL, 0xf1c90080baf72cb1ULL},
    {0xd3f6fc16ebca5e04ULL, 0x971da05074da7beeULL},
    {0x88f4bb1ca6bcf585ULL, 0xbce5086492111aeaULL},
    {0x2b31e9e3d06c32e6ULL, 0xec1e4a7db69561a5ULL},
    {0x3aff322e62439fd0ULL, 0x9392ee8e921d5d07ULL},
    {0x09befeb9fad487c3ULL, 0xb877aa3236a4b449ULL},
    {0x4c2ebe687989a9b4ULL, 0xe69594bec44de15bULL},
    {0x0f9d37014bf60a11ULL, 0x901d7cf73ab0acd9ULL},
    {0x538484c19ef38c95ULL, 0xb424dc35095cd80fULL},
    {0x2865a5f206b06fbaULL, 0xe12e13424bb40e13ULL},
    {0xf93f87b7442e45d4ULL, 0x8cbccc096f5088cbULL},
    {0xf78f69a51539d749ULL, 0xafebff0bcb24aafeULL},
    {0xb573440e5a884d1cULL, 0xdbe6fecebdedd5beULL},
    {0x31680a88f8953031ULL, 0x89705f4136b4a597ULL},
    {0xfdc20d2b36ba7c3eULL, 0xabcc77118461cefcULL},
    {0x3d32907604691b4dULL, 0xd6bf94d5e57a42bcULL},
    {0xa63f9a49c2c1b110ULL, 0x8637bd05af6c69b5ULL},
    {0x0fcf80dc33721d54ULL, 0xa7c5ac471b478423ULL},
    {0xd3c36113404ea4a9ULL, 0xd1b71758e219652bULL},
    {0x645a1cac083126eaULL, 0x83126e978d4fdf3bULL},
    {0x3d70a3d70a3d70a4ULL, 0xa3d70a3d70a3d70aULL},
    {0xcccccccccccccccdULL, 0xccccccccccccccccULL},
    {0x0000000000000000ULL, 0x8000000000000000ULL},
    {0x0000000000000000ULL, 0xa000000000000000ULL},
    {0x0000000000000000ULL, 0xc800000000000000ULL},
    {0x0000000000000000ULL, 0xfa00000000000000ULL},
    {0x0000000000000000ULL, 0x9c40000000000000ULL},
    {0x0000000000000000ULL, 0xc350000000000000ULL},
    {0x0000000000000000ULL, 0xf424000000000000ULL},
    {0x0000000000000000ULL, 0x9896800000000000ULL},
    {0x0000000000000000ULL, 0xbebc200000000000ULL},
    {0x0000000000000000ULL, 0xee6b280000000000ULL},
    {0x0000000000000000ULL, 0x9502f90000000000ULL},
    {0x0000000000000000ULL, 0xba43b74000000000ULL},
    {0x0000000000000000ULL, 0xe8d4a51000000000ULL},
    {0x0000000000000000ULL, 0x9184e72a00000000ULL},
    {0x0000000000000000ULL, 0xb5e620f480000000ULL},
    {0x0000000000000000ULL, 0xe35fa931a0000000ULL},
    {0x0000000000000000ULL, 0x8e1bc9bf04000000ULL},
    {0x0000000000000000ULL, 0xb1a2bc2ec5000000ULL},
    {0x0000000000000000ULL, 0xde0b6b3a76400000ULL},
    {0x0000000000000000ULL, 0x8ac7230489e80000ULL},
    {0x0000000000000000ULL, 0xad78ebc5ac620000ULL},
    {0x0000000000000000ULL, 0xd8d726b7177a8000ULL},
    {0x0000000000000000ULL, 0x878678326eac9000ULL},
    {0x0000000000000000ULL, 0xa968163f0a57b400ULL},
    {0x0000000000000000ULL, 0xd3c21bcecceda100ULL},
    {0x0000000000000000ULL, 0x84595161401484a0ULL},
    {0x0000000000000000ULL, 0xa56fa5b99019a5c8ULL},
    {0x0000000000000000ULL, 0xcecb8f27f4200f3aULL},
    {0x4000000000000000ULL, 0x813f3978f8940984ULL},
    {0x5000000000000000ULL, 0xa18f07d736b90be5ULL},
    {0xa400000000000000ULL, 0xc9f2c9cd04674edeULL},
    {0x4d00000000000000ULL, 0xfc6f7c4045812296ULL},
    {0xf020000000000000ULL, 0x9dc5ada82b70b59dULL},
    {0x6c28000000000000ULL, 0xc5371912364ce305ULL},
    {0xc732000000000000ULL, 0xf684df56c3e01bc6ULL},
    {0x3c7f400000000000ULL, 0x9a130b963a6c115cULL},
    {0x4b9f100000000000ULL, 0xc097ce7bc90715b3ULL},
    {0x1e86d40000000000ULL, 0xf0bdc21abb48db20ULL},
    {0x1314448000000000ULL, 0x96769950b50d88f4ULL},
    {0x17d955a000000000ULL, 0xbc143fa4e250eb31ULL},
    {0x5dcfab0800000000ULL, 0xeb194f8e1ae525fdULL},
    {0x5aa1cae500000000ULL, 0x92efd1b8d0cf37beULL},
    {0xf14a3d9e40000000ULL, 0xb7abc627050305adULL},
    {0x6d9ccd05d0000000ULL, 0xe596b7b0c643c719ULL},
    {0xe4820023a2000000ULL, 0x8f7e32ce7bea5c6fULL},
    {0xdda2802c8a800000ULL, 0xb35dbf821ae4f38bULL},
    {0xd50b2037ad200000ULL, 0xe0352f62a19e306eULL},
    {0x4526f422cc340000ULL, 0x8c213d9da502de45ULL},
    {0x9670b12b7f410000ULL, 0xaf298d050e4395d6ULL},
    {0x3c0cdd765f114000ULL, 0xdaf3f04651d47b4cULL},
    {0xa5880a69fb6ac800ULL, 0x88d8762bf324cd0fULL},
    {0x8eea0d047a457a00ULL, 0xab0e93b6efee0053ULL},
    {0x72a4904598d6d880ULL, 0xd5d238a4abe98068ULL},
    {0x47a6da2b7f864750ULL, 0x85a36366eb71f041ULL},
    {0x999090b65f67d924ULL, 0xa70c3c40a64e6c51ULL},
    {0xfff4b4e3f741cf6dULL, 0xd0cf4b50cfe20765ULL},
    {0xbff8f10e7a8921a5ULL, 0x82818f1281ed449fULL},
    {0xaff72d52192b6a0eULL, 0xa321f2d7226895c7ULL},
    {0x9bf4f8a69f764491ULL, 0xcbea6f8ceb02bb39ULL},
    {0x02f236d04753d5b5ULL, 0xfee50b7025c36a08ULL},
    {0x01d762422c946591ULL, 0x9f4f2726179a2245ULL},
    {0x424d3ad2b7b97ef6ULL, 0xc722f0ef9d80aad6ULL},
    {0xd2e0898765a7deb3ULL, 0xf8ebad2b84e0d58bULL},
    {0x63cc55f49f88eb30ULL, 0x9b934c3b330c8577ULL},
    {0x3cbf6b71c76b25fcULL, 0xc2781f49ffcfa6d5ULL},
    {0x8bef464e3945ef7bULL, 0xf316271c7fc3908aULL},
    {0x97758bf0e3cbb5adULL, 0x97edd871cfda3a56ULL},
    {0x3d52eeed1cbea318ULL, 0xbde94e8e43d0c8ecULL},
    {0x4ca7aaa863ee4bdeULL, 0xed63a231d4c4fb27ULL},
    {0x8fe8caa93e74ef6bULL, 0x945e455f24fb1cf8ULL},
    {0xb3e2fd538e122b45ULL, 0xb975d6b6ee39e436ULL},
    {0x60dbbca87196b617ULL, 0xe7d34c64a9c85d44ULL},
    {0xbc8955e946fe31ceULL, 0x90e40fbeea1d3a4aULL},
    {0x6babab6398bdbe42ULL, 0xb51d13aea4a488ddULL},
    {0xc696963c7eed2dd2ULL, 0xe264589a4dcdab14ULL},
    {0xfc1e1de5cf543ca3ULL, 0x8d7eb76070a08aecULL},
    {0x3b25a55f43294bccULL, 0xb0de65388cc8ada8ULL},
    {0x49ef0eb713f39ebfULL, 0xdd15fe86affad912ULL},
    {0x6e3569326c784338ULL, 0x8a2dbf142dfcc7abULL},
    {0x49c2c37f07965405ULL, 0xacb92ed9397bf996ULL},
    {0xdc33745ec97be907ULL, 0xd7e77a8f87daf7fbULL},
    {0x69a028bb3ded71a4ULL, 0x86f0ac99b4e8dafdULL},
    {0xc40832ea0d68ce0dULL, 0xa8acd7c0222311bcULL},
    {0xf50a3fa490c30191ULL, 0xd2d80db02aabd62bULL},
    {0x792667c6da79e0fbULL, 0x83c7088e1aab65dbULL},
    {0x577001b891185939ULL, 0xa4b8cab1a1563f52ULL},
    {0xed4c0226b55e6f87ULL, 0xcde6fd5e09abcf26ULL},
    {0x544f8158315b05b5ULL, 0x80b05e5ac60b6178ULL},
    {0x696361ae3db1c722ULL, 0xa0dc75f1778e39d6ULL},
    {0x03bc3a19cd1e38eaULL, 0xc913936dd571c84cULL},
    {0x04ab48a04065c724ULL, 0xfb5878494ace3a5fULL},
    {0x62eb0d64283f9c77ULL, 0x9d174b2dcec0e47bULL},
    {0x3ba5d0bd324f8395ULL, 0xc45d1df942711d9aULL},
    {0xca8f44ec7ee3647aULL, 0xf5746577930d6500ULL},
    {0x7e998b13cf4e1eccULL, 0x9968bf6abbe85f20ULL},
    {0x9e3fedd8c321a67fULL, 0xbfc2ef456ae276e8ULL},
    {0xc5cfe94ef3ea101fULL, 0xefb3ab16c59b14a2ULL},
    {0xbba1f1d158724a13ULL, 0x95d04aee3b80ece5ULL},
    {0x2a8a6e45ae8edc98ULL, 0xbb445da9ca61281fULL},
    {0xf52d09d71a3293beULL, 0xea1575143cf97226ULL},
    {0x593c2626705f9c57ULL, 0x924d692ca61be758ULL},
    {0x6f8b2fb00c77836dULL, 0xb6e0c377cfa2e12eULL},
    {0x0b6dfb9c0f956448ULL, 0xe498f455c38b997aULL},
    {0x4724bd4189bd5eadULL, 0x8edf98b59a373fecULL},
    {0x58edec91ec2cb658ULL, 0xb2977ee300c50fe7ULL},
    {0x2f2967b66737e3eeULL, 0xdf3d5e9bc0f653e1ULL},
    {0xbd79e0d20082ee75ULL, 0x8b865b215899f46cULL},
    {0xecd8590680a3aa12ULL, 0xae67f1e9aec07187ULL},
    {0xe80e6f4820cc9496ULL, 0xda01ee641a708de9ULL},
    {0x3109058d147fdcdeULL, 0x884134fe908658b2ULL},
    {0xbd4b46f0599fd416ULL, 0xaa51823e34a7eedeULL},
    {0x6c9e18ac7007c91bULL, 0xd4e5e2cdc1d1ea96ULL},
    {0x03e2cf6bc604ddb1ULL, 0x850fadc09923329eULL},
    {0x84db8346b786151dULL, 0xa6539930bf6bff45ULL},
    {0xe612641865679a64ULL, 0xcfe87f7cef46ff16ULL},
    {0x4fcb7e8f3f60c07fULL, 0x81f14fae158c5f6eULL},
    {0xe3be5e330f38f09eULL, 0xa26da3999aef7749ULL},
    {0x5cadf5bfd3072cc6ULL, 0xcb090c8001ab551cULL},
    {0x73d9732fc7c8f7f7ULL, 0xfdcb4fa002162a63ULL},
    {0x2867e7fddcdd9afbULL, 0x9e9f11c4014dda7eULL},
    {0xb281e1fd541501b9ULL, 0xc646d63501a1511dULL},
    {0x1f225a7ca91a4227ULL, 0xf7d88bc24209a565ULL},
    {0x3375788de9b06959ULL, 0x9ae757596946075fULL},
    {0x0052d6b1641c83afULL, 0xc1a12d2fc3978937ULL},
    {0xc0678c5dbd23a49bULL, 0xf209787bb47d6b84ULL},
    {0xf840b7ba963646e1ULL, 0x9745eb4d50ce6332ULL},
    {0xb650e5a93bc3d899ULL, 0xbd176620a501fbffULL},
    {0xa3e51f138ab4cebfULL, 0xec5d3fa8ce427affULL},
    {0xc66f336c36b10138ULL, 0x93ba47c980e98cdfULL},
    {0xb80b0047445d4185ULL, 0xb8a8d9bbe123f017ULL},
    {0xa60dc059157491e6ULL, 0xe6d3102ad96cec1dULL},
    {0x87c89837ad68db30ULL, 0x9043ea1ac7e41392ULL},
    {0x29babe4598c311fcULL, 0xb454e4a179dd1877ULL},
    {0xf4296dd6fef3d67bULL, 0xe16a1dc9d8545e94ULL},
    {0x1899e4a65f58660dULL, 0x8ce2529e2734bb1dULL},
    {0x5ec05dcff72e7f90ULL, 0xb01ae745b101e9e4ULL},
    {0x76707543f4fa1f74ULL, 0xdc21a1171d42645dULL},
    {0x6a06494a791c53a9ULL, 0x899504ae72497ebaULL},
    {0x0487db9d17636893ULL, 0xabfa45da0edbde69ULL},
    {0x45a9d2845d3c42b7ULL, 0xd6f8d7509292d603ULL},
    {0x0b8a2392ba45a9b3ULL, 0x865b86925b9bc5c2ULL},
    {0x8e6cac7768d7141fULL, 0xa7f26836f282b732ULL},
    {0x3207d795430cd927ULL, 0xd1ef0244af2364ffULL},
    {0x7f44e6bd49e807b9ULL, 0x8335616aed761f1fULL},
    {0x5f16206c9c6209a7ULL, 0xa402b9c5a8d3a6e7ULL},
    {0x36dba887c37a8c10ULL, 0xcd036837130890a1ULL},
    {0xc2494954da2c978aULL, 0x802221226be55a64ULL},
    {0xf2db9baa10b7bd6dULL, 0xa02aa96b06deb0fdULL},
    {0x6f92829494e5acc8ULL, 0xc83553c5c8965d3dULL},
    {0xcb772339ba1f17faULL, 0xfa42a8b73abbf48cULL},
    {0xff2a760414536efcULL, 0x9c69a97284b578d7ULL},
    {0xfef5138519684abbULL, 0xc38413cf25e2d70dULL},
    {0x7eb258665fc25d6aULL, 0xf46518c2ef5b8cd1ULL},
    {0xef2f773ffbd97a62ULL, 0x98bf2f79d5993802ULL},
    {0xaafb550ffacfd8fbULL, 0xbeeefb584aff8603ULL},
    {0x95ba2a53f983cf39ULL, 0xeeaaba2e5dbf6784ULL},
    {0xdd945a747bf26184ULL, 0x952ab45cfa97a0b2ULL},
    {0x94f971119aeef9e5ULL, 0xba756174393d88dfULL},
    {0x7a37cd5601aab85eULL, 0xe912b9d1478ceb17ULL},
    {0xac62e055c10ab33bULL, 0x91abb422ccb812eeULL},
    {0x577b986b314d600aULL, 0xb616a12b7fe617aaULL},
    {0xed5a7e85fda0b80cULL, 0xe39c49765fdf9d94ULL},
    {0x14588f13be847308ULL, 0x8e41ade9fbebc27dULL},
    {0x596eb2d8ae258fc9ULL, 0xb1d219647ae6b31cULL},
    {0x6fca5f8ed9aef3bcULL, 0xde469fbd99a05fe3ULL},
    {0x25de7bb9480d5855ULL, 0x8aec23d680043beeULL},
    {0xaf561aa79a10ae6bULL, 0xada72ccc20054ae9ULL},
    {0x1b2ba1518094da05ULL, 0xd910f7ff28069da4ULL},
    {0x90fb44d2f05d0843ULL, 0x87aa9aff79042286ULL},
    {0x353a1607ac744a54ULL, 0xa99541bf57452b28ULL},
    {0x42889b8997915ce9ULL, 0xd3fa922f2d1675f2ULL},
    {0x69956135febada12ULL, 0x847c9b5d7c2e09b7ULL},
    {0x43fab9837e699096ULL, 0xa59bc234db398c25ULL},
    {0x94f967e45e03f4bcULL, 0xcf02b2c21207ef2eULL},
    {0x1d1be0eebac278f6ULL, 0x8161afb94b44f57dULL},
    {0x6462d92a69731733ULL, 0xa1ba1ba79e1632dcULL},
    {0x7d7b8f7503cfdcffULL, 0xca28a291859bbf93ULL},
    {0x5cda735244c3d43fULL, 0xfcb2cb35e702af78ULL},
    {0x3a0888136afa64a8ULL, 0x9defbf01b061adabULL},
    {0x088aaa1845b8fdd1ULL, 0xc56baec21c7a1916ULL},
    {0x8aad549e57273d46ULL, 0xf6c69a72a3989f5bULL},
    {0x36ac54e2f678864cULL, 0x9a3c2087a63f6399ULL},
    {0x84576a1bb416a7deULL, 0xc0cb28a98fcf3c7fULL},
    {0x656d44a2a11c51d6ULL, 0xf0fdf2d3f3c30b9fULL},
    {0x9f644ae5a4b1b326ULL, 0x969eb7c47859e743ULL},
    {0x873d5d9f0dde1fefULL, 0xbc4665b596706114ULL},
    {0xa90cb506d155a7ebULL, 0xeb57ff22fc0c7959ULL},
    {0x09a7f12442d588f3ULL, 0x9316ff75dd87cbd8ULL},
    {0x0c11ed6d538aeb30ULL, 0xb7dcbf5354e9beceULL},
    {0x8f1668c8a86da5fbULL, 0xe5d3ef282a242e81ULL},
    {0xf96e017d694487bdULL, 0x8fa475791a569d10ULL},
    {0x37c981dcc395a9adULL, 0xb38d92d760ec4455ULL},
    {0x85bbe253f47b1418ULL, 0xe070f78d3927556aULL},
    {0x93956d7478ccec8fULL, 0x8c469ab843b89562ULL},
    {0x387ac8d1970027b3ULL, 0xaf58416654a6babbULL},
    {0x06997b05fcc0319fULL, 0xdb2e51bfe9d0696aULL},
    {0x441fece3bdf81f04ULL, 0x88fcf317f22241e2ULL},
    {0xd527e81cad7626c4ULL, 0xab3c2fddeeaad25aULL},
    {0x8a71e223d8d3b075ULL, 0xd60b3bd56a5586f1ULL},
    {0xf6872d5667844e4aULL, 0x85c7056562757456ULL},
    {0xb428f8ac016561dcULL, 0xa738c6bebb12d16cULL},
    {0xe13336d701beba53ULL, 0xd106f86e69d785c7ULL},
    {0xecc0024661173474ULL, 0x82a45b450226b39cULL},
    {0x27f002d7f95d0191ULL, 0xa34d721642b06084ULL},
    {0x31ec038df7b441f5ULL, 0xcc20ce9bd35c78a5ULL},
    {0x7e67047175a15272ULL, 0xff290242c83396ceULL},
    {0x0f0062c6e984d387ULL, 0x9f79a169bd203e41ULL},
    {0x52c07b78a3e60869ULL, 0xc75809c42c684dd1ULL},
    {0xa7709a56ccdf8a83ULL, 0xf92e0c3537826145ULL},
    {0x88a66076400bb692ULL, 0x9bbcc7a142b17ccbULL},
    {0x6acff893d00ea436ULL, 0xc2abf989935ddbfeULL},
    {0x0583f6b8c4124d44ULL, 0xf356f7ebf83552feULL},
    {0xc3727a337a8b704bULL, 0x98165af37b2153deULL},
    {0x744f18c0592e4c5dULL, 0xbe1bf1b059e9a8d6ULL},
    {0x1162def06f79df74ULL, 0xeda2ee1c7064130cULL},
    {0x8addcb5645ac2ba9ULL, 0x9485d4d1c63e8be7ULL},
    {0x6d953e2bd7173693ULL, 0xb9a74a0637ce2ee1ULL},
    {0xc8fa8db6ccdd0438ULL, 0xe8111c87c5c1ba99ULL},
    {0x1d9c9892400a22a3ULL, 0x910ab1d4db9914a0ULL},
    {0x2503beb6d00cab4cULL, 0xb54d5e4a127f59c8ULL},
    {0x2e44ae64840fd61eULL, 0xe2a0b5dc971f303aULL},
    {0x5ceaecfed289e5d3ULL, 0x8da471a9de737e24ULL},
    {0x7425a83e872c5f48ULL, 0xb10d8e1456105dadULL},
    {0xd12f124e28f7771aULL, 0xdd50f1996b947518ULL},
    {0x82bd6b70d99aaa70ULL, 0x8a5296ffe33cc92fULL},
    {0x636cc64d1001550cULL, 0xace73cbfdc0bfb7bULL},
    {0x3c47f7e05401aa4fULL, 0xd8210befd30efa5aULL},
    {0x65acfaec34810a72ULL, 0x8714a775e3e95c78ULL},
    {0x7f1839a741a14d0eULL, 0xa8d9d1535ce3b396ULL},
    {0x1ede48111209a051ULL, 0xd31045a8341ca07cULL},
    {0x934aed0aab460433ULL, 0x83ea2b892091e44dULL},
    {0xf81da84d56178540ULL, 0xa4e4b66b68b65d60ULL},
    {0x36251260ab9d668fULL, 0xce1de40642e3f4b9ULL},
    {0xc1d72b7c6b42601aULL, 0x80d2ae83e9ce78f3ULL},
    {0xb24cf65b8612f820ULL, 0xa1075a24e4421730ULL},
    {0xdee033f26797b628ULL, 0xc94930ae1d529cfcULL},
    {0x169840ef017da3b2ULL, 0xfb9b7cd9a4a7443cULL},
    {0x8e1f289560ee864fULL, 0x9d412e0806e88aa5ULL},
    {0xf1a6f2bab92a27e3ULL, 0xc491798a08a2ad4eULL},
    {0xae10af696774b1dcULL, 0xf5b5d7ec8acb58a2ULL},
    {0xacca6da1e0a8ef2aULL, 0x9991a6f3d6bf1765ULL},
    {0x17fd090a58d32af4ULL, 0xbff610b0cc6edd3fULL},
    {0xddfc4b4cef07f5b1ULL, 0xeff394dcff8a948eULL},
    {0x4abdaf101564f98fULL, 0x95f83d0a1fb69cd9ULL},
    {0x9d6d1ad41abe37f2ULL, 0xbb764c4ca7a4440fULL},
    {0x84c86189216dc5eeULL, 0xea53df5fd18d5513ULL},
    {0x32fd3cf5b4e49bb5ULL, 0x92746b9be2f8552cULL},
    {0x3fbc8c33221dc2a2ULL, 0xb7118682dbb66a77ULL},
    {0x0fabaf3feaa5334bULL, 0xe4d5e82392a40515ULL},
    {0x29cb4d87f2a7400fULL, 0x8f05b1163ba6832dULL},
    {0x743e20e9ef511013ULL, 0xb2c71d5bca9023f8ULL},
    {0x914da9246b255417ULL, 0xdf78e4b2bd342cf6ULL},
    {0x1ad089b6c2f7548fULL, 0x8bab8eefb6409c1aULL},
    {0xa184ac2473b529b2ULL, 0xae9672aba3d0c320ULL},
    {0xc9e5d72d90a2741fULL, 0xda3c0f568cc4f3e8ULL},
    {0x7e2fa67c7a658893ULL, 0x8865899617fb1871ULL},
    {0xddbb901b98feeab8ULL, 0xaa7eebfb9df9de8dULL},
    {0x552a74227f3ea566ULL, 0xd51ea6fa85785631ULL},
    {0xd53a88958f872760ULL, 0x8533285c936b35deULL},
    {0x8a892abaf368f138ULL, 0xa67ff273b8460356ULL},
    {0x2d2b7569b0432d86ULL, 0xd01fef10a657842cULL},
    {0x9c3b29620e29fc74ULL, 0x8213f56a67f6b29bULL},
    {0x8349f3ba91b47b90ULL, 0xa298f2c501f45f42ULL},
    {0x241c70a936219a74ULL, 0xcb3f2f7642717713ULL},
    {0xed238cd383aa0111ULL, 0xfe0efb53d30dd4d7ULL},
    {0xf4363804324a40abULL, 0x9ec95d1463e8a506ULL},
    {0xb143c6053edcd0d6ULL, 0xc67bb4597ce2ce48ULL},
    {0xdd94b7868e94050bULL, 0xf81aa16fdc1b81daULL},
    {0xca7cf2b4191c8327ULL, 0x9b10a4e5e9913128ULL},
    {0xfd1c2f611f63a3f1ULL, 0xc1d4ce1f63f57d72ULL},
    {0xbc633b39673c8cedULL, 0xf24a01a73cf2dccfULL},
    {0xd5be0503e085d814ULL, 0x976e41088617ca01ULL},
    {0x4b2d8644d8a74e19ULL, 0xbd49d14aa79dbc82ULL},
    {0xddf8e7d60ed1219fULL, 0xec9c459d51852ba2ULL},
    {0xcabb90e5c942b504ULL, 0x93e1ab8252f33b45ULL},
    {0x3d6a751f3b936244ULL, 0xb8da1662e7b00a17ULL},
    {0x0cc512670a783ad5ULL, 0xe7109bfba19c0c9dULL},
    {0x27fb2b80668b24c6ULL, 0x906a617d450187e2ULL},
    {0xb1f9f660802dedf7ULL, 0xb484f9dc9641e9daULL},
    {0x5e7873f8a0396974ULL, 0xe1a63853bbd26451ULL},
    {0xdb0b487b6423e1e9ULL, 0x8d07e33455637eb2ULL},
    {0x91ce1a9a3d2cda63ULL, 0xb049dc016abc5e5fULL},
    {0x7641a140cc7810fcULL, 0xdc5c5301c56b75f7ULL},
    {0xa9e904c87fcb0a9eULL, 0x89b9b3e11b6329baULL},
    {0x546345fa9fbdcd45ULL, 0xac2820d9623bf429ULL},
    {0xa97c177947ad4096ULL, 0xd732290fbacaf133ULL},
    {0x49ed8eabcccc485eULL, 0x867f59a9d4bed6c0ULL},
    {0x5c68f256bfff5a75ULL, 0xa81f301449ee8c70ULL},
    {0x73832eec6fff3112ULL, 0xd226fc195c6a2f8cULL},
    {0xc831fd53c5ff7eacULL, 0x83585d8fd9c25db7ULL},
    {0xba3e7ca8b77f5e56ULL, 0xa42e74f3d032f525ULL},
    {0x28ce1bd2e55f35ecULL, 0xcd3a1230c43fb26fULL},
    {0x7980d163cf5b81b4ULL, 0x80444b5e7aa7cf85ULL},
    {0xd7e105bcc3326220ULL, 0xa0555e361951c366ULL},
    {0x8dd9472bf3fefaa8ULL, 0xc86ab5c39fa63440ULL},
    {0xb14f98f6f0feb952ULL, 0xfa856334878fc150ULL},
    {0x6ed1bf9a569f33d4ULL, 0x9c935e00d4b9d8d2ULL},
    {0x0a862f80ec4700c9ULL, 0xc3b8358109e84f07ULL},
    {0xcd27bb612758c0fbULL, 0xf4a642e14c6262c8ULL},
    {0x8038d51cb897789dULL, 0x98e7e9cccfbd7dbdULL},
    {0xe0470a63e6bd56c4ULL, 0xbf21e44003acdd2cULL},
    {0x1858ccfce06cac75ULL, 0xeeea5d5004981478ULL},
    {0x0f37801e0c43ebc9ULL, 0x95527a5202df0ccbULL},
    {0xd30560258f54e6bbULL, 0xbaa718e68396cffdULL},
    {0x47c6b82ef32a206aULL, 0xe950df20247c83fdULL},
    {0x4cdc331d57fa5442ULL, 0x91d28b7416cdd27eULL},
    {0xe0133fe4adf8e953ULL, 0xb6472e511c81471dULL},
    {0x58180fddd97723a7ULL, 0xe3d8f9e563a198e5ULL},
    {0x570f09eaa7ea7649ULL, 0x8e679c2f5e44ff8fULL},
    {0x2cd2cc6551e513dbULL, 0xb201833b35d63f73ULL},
    {0xf8077f7ea65e58d2ULL, 0xde81e40a034bcf4fULL},
    {0xfb04afaf27faf783ULL, 0x8b112e86420f6191ULL},
    {0x79c5db9af1f9b564ULL, 0xadd57a27d29339f6ULL},
    {0x18375281ae7822bdULL, 0xd94ad8b1c7380874ULL},
    {0x8f2293910d0b15b6ULL, 0x87cec76f1c830548ULL},
    {0xb2eb3875504ddb23ULL, 0xa9c2794ae3a3c69aULL},
    {0x5fa60692a46151ecULL, 0xd433179d9c8cb841ULL},
    {0xdbc7c41ba6bcd334ULL, 0x849feec281d7f328ULL},
    {0x12b9b522906c0801ULL, 0xa5c7ea73224deff3ULL},
    {0xd768226b34870a01ULL, 0xcf39e50feae16befULL},
    {0xe6a1158300d46641ULL, 0x81842f29f2cce375ULL},
    {0x60495ae3c1097fd1ULL, 0xa1e53af46f801c53ULL},
    {0x385bb19cb14bdfc5ULL, 0xca5e89b18b602368ULL},
    {0x46729e03dd9ed7b6ULL, 0xfcf62c1dee382c42ULL},
    {0x6c07a2c26a8346d2ULL, 0x9e19db92b4e31ba9ULL},
};

/* floor(g * cp / 2^128) with its lowest bit set when the quotient is not an
 * integer ("round to odd"; g rounds up by less than one unit, which moves
 * the fraction of an exact product by less than 2^-63) */
static uint64_t fr__j_rop(const uint64_t *g, uint64_t cp) {
    uint64_t x_hi, y_hi, y_lo;
    (void)fr__umul128(cp, g[0], &x_hi);
    y_lo = fr__umul128(cp, g[1], &y_hi);
    y_lo += x_hi;
    y_hi += y_lo < x_hi;
    return y_hi | (y_lo > 1);
}

static const uint64_t fr__j_pow10[20] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL, 100000000ULL,
    1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL, 10000000000000ULL,
    100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
    1000000000000000000ULL, 10000000000000000000ULL};

static int fr__u64_ndigits(uint64_t v) { /* decimal digits of v (1 for 0) */
    /* from the bit length: bits * log10(2) ~ bits * 1233 / 4096, then one compare */
    int n = v ? (int)(((unsigned)(64 - FR__CLZ64(v)) * 1233u) >> 12) : 0;
    n += v >= fr__j_pow10[n];
    return n ? n : 1;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* The 8 digits of v < 10^8 (leading zeros included) as ASCII in one word,
 * the first digit in the lowest byte: v splits into 4-digit halves, then
 * 2-digit quarters, then digits, each step in parallel lanes of one 64-bit
 * register (quotients by multiply-shift, exact for these ranges), so no
 * table lookups and nothing to read back. */
static inline uint64_t fr__bcd8(uint32_t v) { /* the digits as values 0..9, before '0' is added */
    /* each step is q + ((x - q * d) << s), the quotient and remainder
     * lanes, written as (x << s) + q * (1 - (d << s)) (mod 2^64): the shift
     * does not wait for q */
    uint64_t x = v, q = (x * 109951163u) >> 40; /* v / 10^4, exact below 4.9e8 */
    x = (x << 32) + q * (1 - (10000ULL << 32));
    q = ((x * 10486u) >> 20) & 0x0000007F0000007FULL; /* / 100 in 32-bit lanes (< 10^4) */
    x = (x << 16) + q * (1 - (100ULL << 16));
    q = ((x * 103u) >> 10) & 0x000F000F000F000FULL; /* / 10 in 16-bit lanes (< 100) */
    return (x << 8) + q * (1 - (10ULL << 8));
}
static inline uint64_t fr__digits8(uint32_t v) { return fr__bcd8(v) + 0x3030303030303030ULL; }

/* the last k (1..8) digits of w's 8, stored with 8 - k bytes of slack after them */
static inline void fr__put_tail(char *o, uint64_t w, int k) {
    w >>= 8 * (8 - k);
    memcpy(o, &w, 8);
}

/* 9..17 digits in one path (doubles give 16 or 17 about equally often, a
 * branch between them would be a coin flip): the first 9 as a top digit and
 * 8, the top digit's byte overwritten when n < 17, the 8 shifted like
 * fr__put_tail */
static inline void fr__digits9_17(char *out, uint64_t v, int n) {
    uint64_t hi = v / 100000000u, w = fr__digits8((uint32_t)(v - hi * 100000000u)), w1;
    uint32_t top = (uint32_t)hi / 100000000u;
    int sh = n < 16 ? 16 - n : 0;
    w1 = fr__digits8((uint32_t)hi - top * 100000000u) >> (8 * sh);
    out[0] = (char)('0' + top);
    memcpy(out + n - 16 + sh, &w1, 8);
    memcpy(out + n - 8, &w, 8);
}

/* The n = fr__u64_ndigits(v) digits of v at out; may store up to 8 bytes
 * from out even when n < 8 (never past out + max(n, 8)). For n == 1,
 * out[0] is written twice: first the tens digit 0, then the units. */
static int fr__u64_digits_n(uint64_t v, int n, char *out) {
    if (n <= 2) { /* small ints (counts, flags, ids) are the most common */
        uint32_t q = ((uint32_t)v * 103u) >> 10; /* v / 10 */
        out[0] = (char)('0' + q);
        out[n - 1] = (char)('0' + (uint32_t)v - q * 10u);
    } else if (n <= 4) { /* the last two steps of fr__digits8 only */
        uint32_t x = (uint32_t)v, q = (x * 10486u) >> 20;
        x = q | ((x - q * 100u) << 16);
        q = ((x * 103u) >> 10) & 0x000F000Fu;
        x = (q | ((x - q * 10u) << 8)) + 0x30303030u;
        x >>= 8 * (4 - n);
        memcpy(out, &x, 4);
    } else if (n <= 8) {
        fr__put_tail(out, fr__digits8((uint32_t)v), n);
    } else if (n <= 17) {
        fr__digits9_17(out, v, n);
    } else {
        uint64_t top = v / 10000000000000000ULL, rest = v - top * 10000000000000000ULL;
        uint64_t hi = rest / 100000000u, w;
        fr__put_tail(out, fr__digits8((uint32_t)top), n - 16);
        w = fr__digits8((uint32_t)hi);
        memcpy(out + n - 16, &w, 8);
        w = fr__digits8((uint32_t)(rest - hi * 100000000u));
        memcpy(out + n - 8, &w, 8);
    }
    return n;
}
/* d (16 digits, or 17 if big) at p, storing 17 bytes from p; returns the
 * count without trailing zeros, read off the digit words (the last digit is
 * the highest byte: trailing zeros are leading zero bytes), no division
 * loop */
static inline int fr__j_sig17(char *p, uint64_t d, int big) {
    uint64_t hi = d / 100000000u, bm, bl, w;
    uint32_t top = (uint32_t)hi / 100000000u;
    int tz;
    bl = fr__bcd8((uint32_t)(d - hi * 100000000u));
    bm = fr__bcd8((uint32_t)hi - top * 100000000u);
    p[0] = (char)('0' + top); /* 16 digits: overwritten next */
    w = bm + 0x3030303030303030ULL;
    memcpy(p + big, &w, 8);
    w = bl + 0x3030303030303030ULL;
    memcpy(p + big + 8, &w, 8);
    tz = bl ? FR__CLZ64(bl) >> 3 : bm ? 8 + (FR__CLZ64(bm) >> 3) : 16;
    return 16 + big - tz;
}
#else
static const char fr__j_pairs[] = "00010203040506070809101112131415161718192021222324"
                                  "25262728293031323334353637383940414243444546474849"
                                  "50515253545556575859606162636465666768697071727374"
                                  "75767778798081828384858687888990919293949596979899";

static void fr__put8(char *o, uint32_t v) { /* exactly 8 digits, v < 10^8 */
    uint32_t hi = v / 10000, lo = v % 10000;
    memcpy(o, fr__j_pairs + 2 * (hi / 100), 2);
    memcpy(o + 2, fr__j_pairs + 2 * (hi % 100), 2);
    memcpy(o + 4, fr__j_pairs + 2 * (lo / 100), 2);
    memcpy(o + 6, fr__j_pairs + 2 * (lo % 100), 2);
}

static int fr__u64_digits_n(uint64_t v, int n, char *out) {
    int i = n;
    uint32_t w;
    while (v >= 100000000u) { /* 8 digits at a time in 32-bit arithmetic */
        uint64_t q = v / 100000000u;
        i -= 8;
        fr__put8(out + i, (uint32_t)(v - q * 100000000u));
        v = q;
    }
    w = (uint32_t)v;
    while (w >= 100) {
        uint32_t r = w % 100;
        w /= 100;
        i -= 2;
        memcpy(out + i, fr__j_pairs + 2 * r, 2);
    }
    if (w >= 10) memcpy(out, fr__j_pairs + 2 * w, 2);
    else out[0] = (char)('0' + w);
    return n;
}
/* d (16 digits, or 17 if big) at p; returns the count without trailing zeros */
static inline int fr__j_sig17(char *p, uint64_t d, int big) {
    int n = fr__u64_digits_n(d, 16 + big, p);
    while (p[n - 1] == '0') n--;
    return n;
}
#endif

/* decimal digits of v at out, returns count, no NUL; may store up to 8
 * bytes from out (callers' buffers hold 20 digits or 8 bytes, whichever is
 * more, from out) */
static int fr__u64_digits(uint64_t v, char *out) { return fr__u64_digits_n(v, fr__u64_ndigits(v), out); }

/* The shortest digits d and exponent e with v ~= d * 10^e, for v = bits > 0
 * finite and not an integer below 2^53 (the caller prints those itself). d
 * has 16 digits, or 17, and may end in zeros: the writer finds them in the
 * digit words for free, and a fixed width lets it place the digits without
 * counting them first.
 *
 * The fast path is the one of yy's and zmij's writers (Yaoyuan Guo; Victor
 * Zverovich, 2025), for normal values that are not a power of two: with k =
 * floor(log10(ulp)), 10^k <= ulp < 10^(k+1), so v's rounding interval, half
 * an ulp either side, is 1 to 10 units of 10^k wide. One 64x128-bit multiply
 * by the table's 10^-k, rounded down, gives v * 10^-k as integral.fraction;
 * from its last integral digit and the fraction, the distance to the
 * multiple of 10 below and above, compared with half an ulp on the same
 * scale, tells whether the interval holds a multiple of 10^(k+1) (at most
 * one fits: the shortest digits) or not (then the integer nearest v *
 * 10^-k, which is inside: the nearest of the longest ones). Schubfach's
 * three multiplies are only needed where the comparisons are too close to
 * call with a rounded-down power of ten (an exact tie, or the upper bound
 * within a unit of 10) and for subnormals and powers of two. */
static uint64_t fr__j_decimal(uint64_t bits, int *e) {
    uint64_t ieee_m = bits & ((1ULL << 52) - 1), c, cb, vb, vbl, vbr, lower, upper, s, d;
    const uint64_t *g;
    unsigned ieee_e = (unsigned)(bits >> 52); /* the sign bit is clear */
    int q, k, h, odd, nd;
    if (ieee_e == 0) { /* subnormal */
        c = ieee_m;
        q = -1074;
    } else {
        c = (1ULL << 52) | ieee_m;
        q = (int)ieee_e - 1075;
    }
    if (ieee_m != 0 && ieee_e != 0) {
        const uint64_t ten = 10ULL << 60; /* 4.60 fixed point from here */
        uint64_t glo, hi, lo, mid, frac, ip, digit, rem, half, up;
        k = (q * 315653) >> 20; /* floor(q * log10(2)) */
        g = fr__j_pow10_sig[292 - k];
        h = q + ((-k * 217706) >> 16) + 1; /* 1..4, as for Schubfach below */
        glo = g[0] - (uint64_t)((unsigned)-k > 55u); /* rounded down: the table rounds up but 10^0..10^55 */
        lo = fr__umul128(g[1], c << h, &hi);
        (void)fr__umul128(glo, c << h, &mid);
        frac = lo + mid;
        ip = hi + (frac < mid); /* v * 10^-k = ip + frac / 2^64, 16 or 17 digits */
        digit = ip - ip / 10 * 10;
        rem = (digit << 60) | (frac >> 4); /* v * 10^-k mod 10 */
        half = g[1] >> (5 - h);            /* half an ulp * 10^-k, in [0.5, 5) */
        up = rem + half;
        if (frac != 1ULL << 63 && rem != half && ten - up > 1) {
            uint64_t round_up = up >= ten, shorter = ip - digit + 10 * round_up;
            *e = k;
            /* selected, not branched on: which one is a coin flip for most data */
            return rem < half || round_up ? shorter : ip + (frac > 1ULL << 63);
        }
    }
    /* Schubfach. v = c * 2^q; its rounding interval, in units of 2^(q-2)
     * around cb = 4c, is [cb - 2, cb + 2], or [cb - 1, cb + 2] above a power
     * of two (the gap below is half as wide); k = floor(log10(width)) */
    cb = c << 2;
    if (ieee_m != 0 || ieee_e <= 1) {
        vbl = cb - 2;
        k = (q * 315653) >> 20; /* floor(q * log10(2)), q in [-1074, 971] */
    } else {
        vbl = cb - 1;
        k = (q * 315653 - 131237) >> 20; /* floor(log10(3/4 * 2^q)) */
    }
    /* scale by 10^-k: g = 10^-k * 2^(127 - floor(log2(10^-k))), so shifting
     * the operands left by h leaves the product's top 64 bits at 4 * 10^-k * v */
    g = fr__j_pow10_sig[292 - k];
    h = q + ((-k * 217706) >> 16) + 1; /* floor(log2(10^-k)) by the same kind of constant */
    vb = fr__j_rop(g, cb << h);
    vbl = fr__j_rop(g, vbl << h);
    vbr = fr__j_rop(g, (cb + 2) << h);
    odd = (int)(c & 1); /* round-half-even reading: odd mantissas do not own their bounds */
    lower = vbl + (uint64_t)odd;
    upper = vbr - (uint64_t)odd;
    s = vb >> 2; /* floor(v / 10^k) */
    {
        /* one digit shorter if the interval holds a multiple of 10^(k+1)
         * (at most one fits: 40 * sp or 40 * sp + 40 here; 0 is never a
         * candidate, and s < 10 only for tiny subnormals); else the nearer
         * of s and s + 1, or the one inside. */
        uint64_t sp = s / 10, mid = 4 * s + 2; /* vb is odd unless exact: == mid is a tie */
        int up_in = s >= 10 && lower <= 40 * sp, wp_in = upper >= 40 * sp + 40;
        int u_in = lower <= 4 * s, w_in = upper >= 4 * s + 4;
        int up = (vb > mid) | ((vb == mid) & (int)(s & 1));
        int shorter = up_in != wp_in;
        d = shorter ? sp + (uint64_t)wp_in : s + (uint64_t)(u_in != w_in ? w_in : up);
        k += shorter;
    }
    /* to 16 digits (subnormals have fewer, the shorter answer one fewer) */
    nd = fr__u64_ndigits(d);
    if (nd < 16) {
        d *= fr__j_pow10[16 - nd];
        k -= 16 - nd;
    }
    *e = k;
    return d;
}

int fr_json_format_int(int64_t v, char out[20]) {
    uint64_t u = (uint64_t)v;
    if (!out) return -1;
    if (v >= 0) return fr__u64_digits(u, out);
    out[0] = '-';
    return 1 + fr__u64_digits(0 - u, out + 1);
}

int fr_json_format_double(double v, char out[32]) {
    /* the digits are written once, straight to their place, except for
     * ddd.ddd where the integer part then moves left by one byte (no
     * staging buffer: a wide copy of bytes just stored stalls) */
    uint64_t bits, d;
    int k, x, big, nd, n, i;
    char *p;
    if (!out) return -1;
    memcpy(&bits, &v, sizeof bits);
    if ((~bits & (0x7FFULL << 52)) == 0) return -1; /* inf, nan */
    out[0] = '-';
    p = out + (bits >> 63);
    bits &= ~(1ULL << 63);
    memcpy(&v, &bits, sizeof v);
    if (v < 9007199254740992.0 && v == (double)(int64_t)v) { /* integers below 2^53, 0 too: ddd.0 */
        n = fr__u64_digits((uint64_t)(int64_t)v, p);
        memcpy(p + n, ".0", 3);
        return (int)(p - out) + n + 2;
    }
    d = fr__j_decimal(bits, &k);
    big = d >= 10000000000000000ULL; /* 17 digits, else 16 */
    x = k + 15 + big;                /* v ~= d.ddd * 10^x */
    if (x >= 0 && x < 16) {          /* ddd.ddd or ddd.0 */
        nd = fr__j_sig17(p + 1, d, big);
        for (i = 0; i <= x; i++) p[i] = p[i + 1];
        p[x + 1] = '.';
        if (nd > x + 1) {
            n = nd + 1;
        } else {
            p[x + 2] = '0';
            n = x + 3;
        }
    } else if (x < 0 && x >= -4) { /* 0.000ddd */
        memcpy(p, "0.000000", 8);
        n = 1 - x + fr__j_sig17(p + 1 - x, d, big);
    } else { /* d[.ddd]e[+-]XX */
        int ax = x < 0 ? -x : x;
        nd = fr__j_sig17(p + 1, d, big);
        p[0] = p[1];
        p[1] = '.';
        n = nd > 1 ? nd + 1 : 1;
        p[n++] = 'e';
        p[n++] = x < 0 ? '-' : '+';
        if (ax >= 100) p[n++] = (char)('0' + ax / 100);
        p[n++] = (char)('0' + ax / 10 % 10);
        p[n++] = (char)('0' + ax % 10);
    }
    p[n] = 0;
    return (int)(p - out) + n;
}

/* ------------------------------------------------------------------ */
/* the writer                                                          */
/* ------------------------------------------------------------------ */

#define FR__JW_BIT(arr, d) (((arr)[(d) >> 6] >> ((d) & 63)) & 1u)
#define FR__JW_SET(arr, d) ((arr)[(d) >> 6] |= 1ULL << ((d) & 63))
#define FR__JW_CLR(arr, d) ((arr)[(d) >> 6] &= ~(1ULL << ((d) & 63)))

void fr_jw_init(fr_jw *w, fr_buf *out) {
    memset(w, 0, sizeof *w);
    w->out = out;
    if (!out) w->error = -1;
}

static int fr__jw_fail(fr_jw *w) {
    w->error = -1;
    return -1;
}

/* Separator and bookkeeping before a value; -1 if a value is not allowed. */
static int fr__jw_pre(fr_jw *w) {
    int d;
    if (w->error) return -1;
    if (w->depth == 0) {
        if (w->top_done) return fr__jw_fail(w);
        w->top_done = 1;
        return 0;
    }
    d = w->depth - 1;
    if (FR__JW_BIT(w->obj_bits, d)) {
        if (!w->key_pending) return fr__jw_fail(w);
        w->key_pending = 0;
        FR__JW_SET(w->comma_bits, d);
        return 0;
    }
    if (FR__JW_BIT(w->comma_bits, d)) {
        if (fr_buf_append_char(w->out, ',') < 0) return fr__jw_fail(w);
    } else {
        FR__JW_SET(w->comma_bits, d);
    }
    return 0;
}

static void fr__jw_put(fr_jw *w, const char *s, size_t n) {
    if (fr_buf_append(w->out, s, n) < 0) w->error = -1;
}

static void fr__jw_open(fr_jw *w, char c, int obj) {
    int d;
    if (fr__jw_pre(w) < 0) return;
    if (w->depth >= FR_JW_MAX_DEPTH) {
        fr__jw_fail(w);
        return;
    }
    if (fr_buf_append_char(w->out, c) < 0) {
        fr__jw_fail(w);
        return;
    }
    d = w->depth++;
    FR__JW_CLR(w->comma_bits, d);
    if (obj) FR__JW_SET(w->obj_bits, d);
    else FR__JW_CLR(w->obj_bits, d);
}

static void fr__jw_close(fr_jw *w, char c, int obj) {
    int d;
    if (w->error) return;
    if (w->depth == 0 || w->key_pending) {
        fr__jw_fail(w);
        return;
    }
    d = w->depth - 1;
    if ((int)FR__JW_BIT(w->obj_bits, d) != obj) {
        fr__jw_fail(w);
        return;
    }
    if (fr_buf_append_char(w->out, c) < 0) {
        fr__jw_fail(w);
        return;
    }
    w->depth--;
}

void fr_jw_object_begin(fr_jw *w) { fr__jw_open(w, '{', 1); }
void fr_jw_object_end(fr_jw *w) { fr__jw_close(w, '}', 1); }
void fr_jw_array_begin(fr_jw *w) { fr__jw_open(w, '[', 0); }
void fr_jw_array_end(fr_jw *w) { fr__jw_close(w, ']', 0); }

void fr_jw_key(fr_jw *w, const char *s, size_t len) {
    int d;
    if (w->error) return;
    if (w->depth == 0 || w->key_pending) {
        fr__jw_fail(w);
        return;
    }
    d = w->depth - 1;
    if (!FR__JW_BIT(w->obj_bits, d)) {
        fr__jw_fail(w);
        return;
    }
    if (FR__JW_BIT(w->comma_bits, d) && fr_buf_append_char(w->out, ',') < 0) {
        fr__jw_fail(w);
        return;
    }
    if (fr_json_write_string(w->out, s, len) < 0 || fr_buf_append_char(w->out, ':') < 0) {
        fr__jw_fail(w);
        return;
    }
    w->key_pending = 1;
}

void fr_jw_string(fr_jw *w, const char *s, size_t len) {
    if (fr__jw_pre(w) < 0) return;
    if (fr_json_write_string(w->out, s, len) < 0) fr__jw_fail(w);
}

void fr_jw_key_c(fr_jw *w, const char *s) {
    if (!s) {
        if (w) fr__jw_fail(w);
        return;
    }
    fr_jw_key(w, s, strlen(s));
}

void fr_jw_string_c(fr_jw *w, const char *s) {
    if (!s) {
        if (w) fr__jw_fail(w);
        return;
    }
    fr_jw_string(w, s, strlen(s));
}

void fr_jw_uint(fr_jw *w, uint64_t v) {
    char t[24];
    int n;
    if (fr__jw_pre(w) < 0) return;
    n = fr__u64_digits(v, t);
    fr__jw_put(w, t, (size_t)n);
}

void fr_jw_int(fr_jw *w, int64_t v) {
    char t[24];
    int n = 0;
    uint64_t u = (uint64_t)v;
    if (fr__jw_pre(w) < 0) return;
    if (v < 0) {
        t[n++] = '-';
        u = 0 - u;
    }
    n += fr__u64_digits(u, t + n);
    fr__jw_put(w, t, (size_t)n);
}

void fr_jw_double(fr_jw *w, double v) {
    char t[32];
    int n;
    if (fr__jw_pre(w) < 0) return;
    n = fr_json_format_double(v, t);
    if (n < 0) {
        fr__jw_fail(w);
        return;
    }
    fr__jw_put(w, t, (size_t)n);
}

void fr_jw_bool(fr_jw *w, int v) {
    if (fr__jw_pre(w) < 0) return;
    if (v) fr__jw_put(w, "true", 4);
    else fr__jw_put(w, "false", 5);
}

void fr_jw_null(fr_jw *w) {
    if (fr__jw_pre(w) < 0) return;
    fr__jw_put(w, "null", 4);
}

void fr_jw_raw(fr_jw *w, const char *json, size_t len) {
    if (!json || len == 0) {
        if (!w->error) fr__jw_fail(w);
        return;
    }
    if (fr__jw_pre(w) < 0) return;
    fr__jw_put(w, json, len);
}

void fr_jw_value(fr_jw *w, const fr_json_val *v) {
    size_t i;
    if (w->error) return;
    if (!v) {
        fr__jw_fail(w);
        return;
    }
    switch (v->type) {
    case FR_JSON_NULL: fr_jw_null(w); break;
    case FR_JSON_BOOL: fr_jw_bool(w, v->u.b); break;
    case FR_JSON_INT: fr_jw_int(w, v->u.i); break;
    case FR_JSON_BIGINT: fr_jw_raw(w, v->u.s.buf, v->u.s.len); break;
    case FR_JSON_DOUBLE: fr_jw_double(w, v->u.d); break;
    case FR_JSON_STRING: fr_jw_string(w, v->u.s.buf, v->u.s.len); break;
    case FR_JSON_ARRAY:
        /* recursion is bounded: fr__jw_open fails beyond FR_JW_MAX_DEPTH */
        fr_jw_array_begin(w);
        for (i = 0; i < v->u.arr.len && !w->error; i++) fr_jw_value(w, v->u.arr.items[i]);
        fr_jw_array_end(w);
        break;
    case FR_JSON_OBJECT:
        fr_jw_object_begin(w);
        for (i = 0; i < v->u.obj.len && !w->error; i++) {
            fr_jw_key(w, v->u.obj.items[i].key.buf, v->u.obj.items[i].key.len);
            fr_jw_value(w, v->u.obj.items[i].val);
        }
        fr_jw_object_end(w);
        break;
    default: fr__jw_fail(w);
    }
}

int fr_jw_finish(fr_jw *w) {
    if (w->error || w->depth != 0 || w->key_pending) return -1;
    return 0;
}
