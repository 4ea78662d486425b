/* test_quic.c - CUnit suite for QUIC (quic_crypto.c, quic.c, quic_cstream.c, quic_conn.c): the
 * sample packets of RFC 9001 and RFC 9369 appendix A, RFC 9000 appendix A, CRYPTO reassembly, and
 * connection tracking scenarios built with a packet protector written here against OpenSSL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <openssl/evp.h>

#include "../quic_protect.h"
#include "app_quic.h"
#include "quic.h"
#include "quic_conn.h"
#include "quic_crypto.h"
#include "quic_cstream.h"
#include "stats_quic.h"
#include "suites.h"

/* ---- vectors: RFC 9001 appendix A (V1_*) and RFC 9369 appendix A (V2_*), hex as printed ---- */

static const char V1_CLIENT_INITIAL[] =
    "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
    "d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
    "1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
    "8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
    "30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
    "457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
    "4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
    "4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
    "485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
    "059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
    "7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
    "9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
    "be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
    "68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
    "c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
    "f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
    "291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
    "25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
    "14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
    "ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
    "e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
    "c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
    "203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
    "cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
    "fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
    "a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
    "90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
    "162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
    "40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
    "6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
    "8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
    "be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
    "54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
    "760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
    "f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
    "056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
    "7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
    "e221af44860018ab0856972e194cd934";
static const char V1_CLIENT_FRAMES[] =
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
    "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
    "616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
    "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
    "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
    "0d0010000e0403050306030203080408050806002d00020101001c0002400100"
    "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
    "75300901100f088394c8f03e51570806048000ffff";
static const char V1_SERVER_PAYLOAD[] =
    "02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739"
    "88cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c94"
    "0d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00"
    "020304";
static const char V1_SERVER_INITIAL[] =
    "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a"
    "5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3"
    "dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84"
    "022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4"
    "2158407dd074ee";
static const char V1_RETRY[] = "ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f"
                               "0f2496ba";
static const char V2_CLIENT_INITIAL[] =
    "d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485"
    "dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04"
    "9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d"
    "250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a"
    "12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500"
    "cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68"
    "18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33"
    "12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3"
    "d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd"
    "6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520"
    "bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045"
    "636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f"
    "ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12"
    "16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5"
    "4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4"
    "fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b"
    "8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7"
    "14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9"
    "9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91"
    "abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd"
    "80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db"
    "848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18"
    "d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15"
    "c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc"
    "7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61"
    "f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710"
    "10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b"
    "3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e"
    "06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce"
    "8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1"
    "34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1"
    "e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd"
    "5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3"
    "8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89"
    "d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53"
    "6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19"
    "9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b"
    "a18b2faa745b6fe189cf772a9f84cbfc";
static const char V2_CLIENT_FRAMES[] =
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
    "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
    "616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
    "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
    "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
    "0d0010000e0403050306030203080408050806002d00020101001c0002400100"
    "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
    "75300901100f088394c8f03e51570806048000ffff";
static const char V2_SERVER_PAYLOAD[] =
    "02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739"
    "88cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c94"
    "0d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00"
    "020304";
static const char V2_SERVER_INITIAL[] =
    "dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698"
    "baeea26b91eb761d9b89237bbf87263017915358230035f7fd3945d88965cf17"
    "f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e42757507698075b2"
    "c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca8"
    "4bed8521e2e140";
static const char V2_RETRY[] = "cf6b3343cf0008f067a5502a4262b5746f6b656ec8646ce8bfe33952d9555436"
                               "65dcc7b6";

static const char DCID_HEX[] = "8394c8f03e515708";

/* ---- helpers ------------------------------------------------------------------------------- */

/* Decodes hex (anything else ignored) into out (at most cap bytes). Returns the length. */
static uint32_t unhex(const char *s, uint8_t *out, uint32_t cap)
{
    uint32_t n = 0;
    int hi = -1;
    for (; *s && n < cap; s++) {
        int v = g_ascii_xdigit_value(*s);
        if (v < 0)
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return n;
}

static bool eq_hex(const uint8_t *p, uint32_t len, const char *hex)
{
    uint8_t want[2048];
    uint32_t n = unhex(hex, want, sizeof want);
    return n == len && memcmp(p, want, n) == 0;
}

static cs_quic_crypto *qc;

static void initial_keys_for(uint32_t version, const char *dcid_hex, cs_quic_keys *c,
                             cs_quic_keys *s)
{
    uint8_t dcid[20];
    uint32_t n = unhex(dcid_hex, dcid, sizeof dcid);
    CU_ASSERT_FATAL(cs_quic_initial_keys(qc, cs_quic_version_find(version), dcid, n, c, s));
}

/* ---- RFC 9000 appendix A ------------------------------------------------------------------- */

static uint64_t varint_of(const char *hex, uint32_t *used)
{
    uint8_t b[8];
    uint32_t n = unhex(hex, b, sizeof b);
    cs_wire w = cs_wire_make(b, n);
    uint32_t off = 0;
    uint64_t v = cs_quic_varint(&w, &off);
    *used = w.trunc ? UINT32_MAX : off;
    return v;
}

static void test_varint(void)
{
    uint32_t used;
    /* RFC 9000 A.1 */
    CU_ASSERT_EQUAL(varint_of("c2197c5eff14e88c", &used), UINT64_C(151288809941952652));
    CU_ASSERT_EQUAL(used, 8);
    CU_ASSERT_EQUAL(varint_of("9d7f3e7d", &used), 494878333);
    CU_ASSERT_EQUAL(used, 4);
    CU_ASSERT_EQUAL(varint_of("7bbd", &used), 15293);
    CU_ASSERT_EQUAL(used, 2);
    CU_ASSERT_EQUAL(varint_of("25", &used), 37);
    CU_ASSERT_EQUAL(varint_of("4025", &used), 37);
    CU_ASSERT_EQUAL(used, 2);
    /* cut short: flagged, never read past the end */
    varint_of("9d7f3e", &used);
    CU_ASSERT_EQUAL(used, UINT32_MAX);
}

static void test_pn_decode(void)
{
    /* RFC 9000 A.3: largest 0xa82f30ea, 16 bits 0x9b32 -> 0xa82f9b32 */
    CU_ASSERT_EQUAL(cs_quic_pn_decode(0xa82f30ea, 0x9b32, 16), 0xa82f9b32);
    /* RFC 9001 A.5: 654360564 sent in 3 bytes as 49140, after 654360563 */
    CU_ASSERT_EQUAL(cs_quic_pn_decode(654360563, 49140, 24), 654360564);
    CU_ASSERT_EQUAL(cs_quic_pn_decode(UINT64_MAX, 2, 32), 2);
    CU_ASSERT_EQUAL(cs_quic_pn_decode(254, 1, 8), 257); /* wraps forward */
}

/* ---- RFC 9001 / RFC 9369 appendix A -------------------------------------------------------- */

static void test_keys_v1(void)
{
    uint8_t dcid[8], initial[32], secret[32];
    unhex(DCID_HEX, dcid, 8);
    static const uint8_t salt[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                     0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
    CU_ASSERT_FATAL(cs_quic_hkdf_extract(qc, salt, 20, dcid, 8, initial));
    CU_ASSERT(
        eq_hex(initial, 32, "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44"));
    CU_ASSERT(cs_quic_expand_label(qc, false, initial, 32, "client in", secret, 32));
    CU_ASSERT(
        eq_hex(secret, 32, "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea"));
    CU_ASSERT(cs_quic_expand_label(qc, false, initial, 32, "server in", secret, 32));
    CU_ASSERT(
        eq_hex(secret, 32, "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b"));
    cs_quic_keys c, s;
    initial_keys_for(CS_QUIC_V1, DCID_HEX, &c, &s);
    CU_ASSERT(eq_hex(c.key, 16, "1f369613dd76d5467730efcbe3b1a22d"));
    CU_ASSERT(eq_hex(c.iv, 12, "fa044b2f42a3fd3b46fb255c"));
    CU_ASSERT(eq_hex(c.hp, 16, "9f50449e04a0e810283a1e9933adedd2"));
    CU_ASSERT(eq_hex(s.key, 16, "cf3a5331653c364c88f0f379b6067e37"));
    CU_ASSERT(eq_hex(s.iv, 12, "0ac1493ca1905853b0bba03e"));
    CU_ASSERT(eq_hex(s.hp, 16, "c206b8d9b9f0f37644430b490eeaa314"));
}

static void test_keys_v2(void)
{
    cs_quic_keys c, s;
    initial_keys_for(CS_QUIC_V2, DCID_HEX, &c, &s);
    CU_ASSERT(eq_hex(c.key, 16, "8b1a0bc121284290a29e0971b5cd045d"));
    CU_ASSERT(eq_hex(c.iv, 12, "91f73e2351d8fa91660e909f"));
    CU_ASSERT(eq_hex(c.hp, 16, "45b95e15235d6f45a6b19cbcb0294ba9"));
    CU_ASSERT(eq_hex(s.key, 16, "82db637861d55e1d011f19ea71d5d2a7"));
    CU_ASSERT(eq_hex(s.iv, 12, "dd13c276499c0249d3310652"));
    CU_ASSERT(eq_hex(s.hp, 16, "edf6d05c83121201b436e16877593c3a"));
}

/* A.2: the client Initial opens to the CRYPTO frame plus PADDING (1162 bytes), packet number 2. */
static void check_client_initial(uint32_t version, const char *pkt_hex, const char *frames_hex,
                                 const char *mask_first)
{
    uint8_t pkt[1200], out[1200], want[1162] = {0};
    uint32_t n = unhex(pkt_hex, pkt, sizeof pkt);
    CU_ASSERT_EQUAL_FATAL(n, 1200);
    cs_quic_hdr h;
    CU_ASSERT_EQUAL_FATAL(cs_quic_parse_header(pkt, n, 0, &h), CS_QH_OK);
    CU_ASSERT_EQUAL(h.type, CS_QPT_INITIAL);
    CU_ASSERT_EQUAL(h.version, version);
    CU_ASSERT_EQUAL(h.dcid_len, 8);
    CU_ASSERT_EQUAL(h.scid_len, 0);
    CU_ASSERT_EQUAL(h.token_len, 0);
    CU_ASSERT_EQUAL(h.pn_offset, 18); /* RFC 9001 A.2: header[18..21] is the packet number */
    CU_ASSERT_EQUAL(h.len, 1200);
    cs_quic_keys c, s;
    initial_keys_for(version, DCID_HEX, &c, &s);
    uint8_t mask[5];
    CU_ASSERT(cs_quic_hp_mask(qc, &c, pkt + 22, mask));
    CU_ASSERT(eq_hex(mask, 5, mask_first));
    cs_quic_plain pl;
    CU_ASSERT_FATAL(cs_quic_unprotect(qc, &c, pkt, &h, UINT64_MAX, out, &pl));
    CU_ASSERT_EQUAL(pl.pn, 2);
    CU_ASSERT_EQUAL(pl.len, 1162);
    uint32_t fl = unhex(frames_hex, want, sizeof want);
    CU_ASSERT_EQUAL(fl, 245);
    CU_ASSERT(memcmp(pl.payload, want, 1162) == 0); /* the rest of `want` is PADDING (zeros) */
    /* with the server's keys it does not open */
    CU_ASSERT_FALSE(cs_quic_unprotect(qc, &s, pkt, &h, UINT64_MAX, out, &pl));
    /* one flipped ciphertext bit: does not authenticate */
    pkt[500] ^= 1;
    CU_ASSERT_FALSE(cs_quic_unprotect(qc, &c, pkt, &h, UINT64_MAX, out, &pl));
}

static void test_client_initial_v1(void)
{
    check_client_initial(CS_QUIC_V1, V1_CLIENT_INITIAL, V1_CLIENT_FRAMES, "437b9aec36");
}

static void test_client_initial_v2(void)
{
    check_client_initial(CS_QUIC_V2, V2_CLIENT_INITIAL, V2_CLIENT_FRAMES, "94a0c95e80");
}

/* A.3: the server Initial (2-byte packet number 1) opens to ACK + CRYPTO(ServerHello). */
static void check_server_initial(uint32_t version, const char *pkt_hex, const char *payload_hex)
{
    uint8_t pkt[200], out[200];
    uint32_t n = unhex(pkt_hex, pkt, sizeof pkt);
    CU_ASSERT_EQUAL_FATAL(n, 135);
    cs_quic_hdr h;
    CU_ASSERT_EQUAL_FATAL(cs_quic_parse_header(pkt, n, 0, &h), CS_QH_OK);
    CU_ASSERT_EQUAL(h.type, CS_QPT_INITIAL);
    CU_ASSERT_EQUAL(h.dcid_len, 0);
    CU_ASSERT_EQUAL(h.scid_len, 8);
    CU_ASSERT(eq_hex(h.scid, 8, "f067a5502a4262b5"));
    cs_quic_keys c, s;
    initial_keys_for(version, DCID_HEX, &c, &s);
    cs_quic_plain pl;
    CU_ASSERT_FATAL(cs_quic_unprotect(qc, &s, pkt, &h, UINT64_MAX, out, &pl));
    CU_ASSERT_EQUAL(pl.pn, 1);
    CU_ASSERT(eq_hex(pl.payload, pl.len, payload_hex));
}

static void test_server_initial_v1(void)
{
    check_server_initial(CS_QUIC_V1, V1_SERVER_INITIAL, V1_SERVER_PAYLOAD);
}

static void test_server_initial_v2(void)
{
    check_server_initial(CS_QUIC_V2, V2_SERVER_INITIAL, V2_SERVER_PAYLOAD);
}

/* A.4: the Retry's integrity tag is right for the client's DCID and wrong for anything else. */
static void check_retry(uint32_t version, const char *hex)
{
    uint8_t pkt[64], odcid[8];
    uint32_t n = unhex(hex, pkt, sizeof pkt);
    unhex(DCID_HEX, odcid, 8);
    cs_quic_hdr h;
    CU_ASSERT_EQUAL_FATAL(cs_quic_parse_header(pkt, n, 0, &h), CS_QH_OK);
    CU_ASSERT_EQUAL(h.type, CS_QPT_RETRY);
    CU_ASSERT_EQUAL(h.token_len, 5);
    CU_ASSERT(memcmp(h.token, "token", 5) == 0);
    const cs_quic_version *v = cs_quic_version_find(version);
    CU_ASSERT(cs_quic_retry_valid(qc, v, odcid, 8, pkt, n));
    odcid[0] ^= 1;
    CU_ASSERT_FALSE(cs_quic_retry_valid(qc, v, odcid, 8, pkt, n));
    odcid[0] ^= 1;
    pkt[n - 1] ^= 1;
    CU_ASSERT_FALSE(cs_quic_retry_valid(qc, v, odcid, 8, pkt, n));
}

static void test_retry_v1(void)
{
    check_retry(CS_QUIC_V1, V1_RETRY);
}

static void test_retry_v2(void)
{
    check_retry(CS_QUIC_V2, V2_RETRY);
}

/* A.5: ChaCha20-Poly1305 short header packet (PING, packet number 654360564). */
static void check_chacha(uint32_t version, const char *key, const char *iv, const char *hp,
                         const char *packet)
{
    uint8_t secret[32], pkt[32], out[32];
    unhex("9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b", secret, 32);
    cs_quic_keys k;
    CU_ASSERT_FATAL(cs_quic_keys_from_secret(qc, cs_quic_version_find(version), CS_QAEAD_CHACHA20,
                                             secret, 32, &k));
    CU_ASSERT(eq_hex(k.key, 32, key));
    CU_ASSERT(eq_hex(k.iv, 12, iv));
    CU_ASSERT(eq_hex(k.hp, 32, hp));
    uint32_t n = unhex(packet, pkt, sizeof pkt);
    CU_ASSERT_EQUAL_FATAL(n, 21);
    cs_quic_hdr h;
    CU_ASSERT_EQUAL_FATAL(cs_quic_parse_header(pkt, n, 0, &h), CS_QH_OK);
    CU_ASSERT_EQUAL(h.type, CS_QPT_SHORT);
    CU_ASSERT_EQUAL(h.pn_offset, 1);
    cs_quic_plain pl;
    CU_ASSERT_FATAL(cs_quic_unprotect(qc, &k, pkt, &h, 654360563, out, &pl));
    CU_ASSERT_EQUAL(pl.pn, 654360564);
    CU_ASSERT_EQUAL(pl.len, 1);
    CU_ASSERT_EQUAL(pl.payload[0], 0x01);
    CU_ASSERT_EQUAL(pl.first, 0x42);
    CU_ASSERT_EQUAL(cs_quic_frames(pl.payload, pl.len, CS_QL_1RTT, NULL), CS_QF_OK);
    /* a wrong key fails */
    k.key[0] ^= 1;
    CU_ASSERT_FALSE(cs_quic_unprotect(qc, &k, pkt, &h, 654360563, out, &pl));
}

static void test_chacha_v1(void)
{
    check_chacha(CS_QUIC_V1, "c6d98ff3441c3fe1b2182094f69caa2ed4b716b65488960a7a984979fb23e1c8",
                 "e0459b3474bdd0e44a41c144",
                 "25a282b9e82f06f21f488917a4fc8f1b73573685608597d0efcb076b0ab7a7a4",
                 "4cfe4189655e5cd55c41f69080575d7999c25a5bfb");
}

static void test_chacha_v2(void)
{
    check_chacha(CS_QUIC_V2, "3bfcddd72bcf02541d7fa0dd1f5f9eeea817e09a6963a0e6c7df0f9a1bab90f2",
                 "a6b5bc6ab7dafce30ffff5dd",
                 "d659760d2ba434a226fd37b35c69e2da8211d10c4f12538787d65645d5d1b8e2",
                 "5558b1c60ae7b6b932bc27d786f4bc2bb20f2162ba");
}

static void test_version_names(void)
{
    char b[32];
    CU_ASSERT_STRING_EQUAL(cs_quic_version_name(1, b, sizeof b), "1");
    CU_ASSERT_STRING_EQUAL(cs_quic_version_name(CS_QUIC_V2, b, sizeof b), "quicv2");
    CU_ASSERT_STRING_EQUAL(cs_quic_version_name(0xff00001d, b, sizeof b), "draft-29");
    CU_ASSERT_STRING_EQUAL(cs_quic_version_name(0x10010000, b, sizeof b), "unknown-10010000");
    CU_ASSERT_PTR_NOT_NULL(cs_quic_version_find(0x1a2a3a4a)); /* reserved: forces negotiation */
    CU_ASSERT_PTR_NULL(cs_quic_version_find(0x1a2a3a4a)->salt);
    CU_ASSERT_PTR_NULL(cs_quic_version_find(0));
    CU_ASSERT_PTR_NOT_NULL(cs_quic_version_find(0xff00001d));
}

/* ---- headers and frames -------------------------------------------------------------------- */

static void test_header_errors(void)
{
    uint8_t pkt[1200];
    uint32_t n = unhex(V1_CLIENT_INITIAL, pkt, sizeof pkt);
    cs_quic_hdr h;
    /* every prefix shorter than the packet is cut or inconsistent, never read past */
    for (uint32_t cut = 0; cut < n; cut++) {
        uint8_t *copy = g_memdup2(pkt, cut);
        cs_quic_hresult r = cs_quic_parse_header(copy, cut, 0, &h);
        CU_ASSERT(r != CS_QH_OK);
        g_free(copy);
    }
    pkt[5] = 21; /* a DCID of 21 bytes in v1 */
    CU_ASSERT_EQUAL(cs_quic_parse_header(pkt, n, 0, &h), CS_QH_BAD);
    CU_ASSERT_PTR_NULL(h.dcid); /* never handed out (found by fuzz_quic: an SCID of 21 bytes) */
    pkt[5] = 8;
    pkt[14] = 21;
    CU_ASSERT_EQUAL(cs_quic_parse_header(pkt, n, 0, &h), CS_QH_BAD);
    CU_ASSERT_PTR_NULL(h.scid);
    /* an unknown version: only the invariant fields */
    static const uint8_t unk[] = {0xc0, 0x10, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0xaa};
    CU_ASSERT_EQUAL(cs_quic_parse_header(unk, sizeof unk, 0, &h), CS_QH_OK);
    CU_ASSERT_EQUAL(h.type, CS_QPT_UNKNOWN);
    CU_ASSERT_FALSE(cs_quic_looks_like_long(unk, sizeof unk));
    /* Version Negotiation: whole versions only */
    static const uint8_t vn[] = {0x80, 0, 0, 0, 0, 0, 1, 7, 0, 0, 0, 1, 0xff, 0, 0, 0x1d};
    CU_ASSERT_EQUAL(cs_quic_parse_header(vn, sizeof vn, 0, &h), CS_QH_OK);
    CU_ASSERT_EQUAL(h.type, CS_QPT_VN);
    CU_ASSERT_EQUAL(cs_quic_parse_header(vn, sizeof vn - 1, 0, &h), CS_QH_BAD);
    CU_ASSERT(cs_quic_looks_like_long(vn, sizeof vn));
}

typedef struct frec {
    int crypto, close, stream;
    uint64_t last_off, close_err, close_ftype;
    uint32_t last_len;
    bool app;
} frec;

static void fr_crypto(void *ctx, uint64_t off, const uint8_t *p, uint32_t len)
{
    frec *r = ctx;
    r->crypto++;
    r->last_off = off;
    r->last_len = len;
}

static void fr_close(void *ctx, bool app, uint64_t err, uint64_t ftype, const uint8_t *reason,
                     uint32_t n)
{
    frec *r = ctx;
    r->close++;
    r->app = app;
    r->close_err = err;
    r->close_ftype = ftype;
}

static void fr_stream(void *ctx, uint64_t id, uint64_t off, const uint8_t *p, uint32_t len,
                      bool fin)
{
    ((frec *)ctx)->stream++;
}

static cs_quic_fresult frames_of(const char *hex, cs_quic_level lvl, frec *r)
{
    uint8_t b[256];
    uint32_t n = unhex(hex, b, sizeof b);
    memset(r, 0, sizeof *r);
    cs_quic_frame_sink s = {r, fr_crypto, fr_close, fr_stream, NULL};
    uint8_t *copy = g_memdup2(b, n); /* exact size: a read past it would be caught by ASan */
    cs_quic_fresult res = cs_quic_frames(copy, n, lvl, &s);
    g_free(copy);
    return res;
}

static void test_frames(void)
{
    frec r;
    /* ACK with ECN counts (type 3: suricata-verify quic-ack3), then CRYPTO 3 bytes at 5, PADDING */
    CU_ASSERT_EQUAL(
        frames_of("03 05 00 01 00 01 02 03 04 05  06 05 03 aabbcc 000000", CS_QL_INITIAL, &r),
        CS_QF_OK);
    CU_ASSERT_EQUAL(r.crypto, 1);
    CU_ASSERT_EQUAL(r.last_off, 5);
    CU_ASSERT_EQUAL(r.last_len, 3);
    /* CONNECTION_CLOSE (transport): error 0x0a, frame type 6, reason "x" */
    CU_ASSERT_EQUAL(frames_of("1c 0a 06 01 78", CS_QL_INITIAL, &r), CS_QF_OK);
    CU_ASSERT_EQUAL(r.close, 1);
    CU_ASSERT_EQUAL(r.close_err, 10);
    CU_ASSERT_EQUAL(r.close_ftype, 6);
    CU_ASSERT_FALSE(r.app);
    /* CONNECTION_CLOSE (application) is not allowed in Initial: still parsed, flagged */
    CU_ASSERT_EQUAL(frames_of("1d 4101 00", CS_QL_INITIAL, &r), CS_QF_NOT_ALLOWED);
    CU_ASSERT(r.app && r.close_err == 0x101);
    /* a STREAM frame in an Initial: skipped by its length, flagged */
    CU_ASSERT_EQUAL(frames_of("0e 04 02 02 6869 01", CS_QL_INITIAL, &r), CS_QF_NOT_ALLOWED);
    CU_ASSERT_EQUAL(r.stream, 1);
    CU_ASSERT_EQUAL(frames_of("0e 04 02 02 6869 01", CS_QL_1RTT, &r), CS_QF_OK);
    /* NEW_CONNECTION_ID, PATH_CHALLENGE, HANDSHAKE_DONE, DATAGRAM with length */
    CU_ASSERT_EQUAL(frames_of("18 01 00 04 01020304 00112233445566778899aabbccddeeff "
                              "1a 0102030405060708 1e 31 02 abcd",
                              CS_QL_1RTT, &r),
                    CS_QF_OK);
    /* CRYPTO running past the payload */
    CU_ASSERT_EQUAL(frames_of("06 00 10 aabb", CS_QL_INITIAL, &r), CS_QF_BAD);
    CU_ASSERT_EQUAL(r.crypto, 0);
    /* ACK range count far beyond the payload */
    CU_ASSERT_EQUAL(frames_of("02 00 00 3f 00", CS_QL_INITIAL, &r), CS_QF_BAD);
    /* a frame type nobody defined */
    CU_ASSERT_EQUAL(frames_of("01 21 00", CS_QL_1RTT, &r), CS_QF_UNKNOWN);
    /* NEW_CONNECTION_ID with a 21-byte CID */
    CU_ASSERT_EQUAL(frames_of("18 01 00 15", CS_QL_1RTT, &r), CS_QF_BAD);
}

/* ---- CRYPTO reassembly --------------------------------------------------------------------- */

typedef struct mrec {
    int n;
    uint32_t lens[8];
    uint8_t types[8];
    GByteArray *all;
} mrec;

static void on_msg(void *ctx, const uint8_t *m, uint32_t len)
{
    mrec *r = ctx;
    if (r->n < 8) {
        r->lens[r->n] = len;
        r->types[r->n] = m[0];
    }
    r->n++;
    g_byte_array_append(r->all, m, len);
}

/* Two messages of 10 and 6 bytes: type 1 len 6, type 2 len 2. */
static const uint8_t two_msgs[16] = {1,   0,   0, 6, 'a', 'b', 'c', 'd',
                                     'e', 'f', 2, 0, 0,   2,   'x', 'y'};

static void test_cstream_orders(void)
{
    /* every split into three pieces, delivered in every order, gives the same two messages */
    static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                     {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (uint32_t a = 1; a < 15; a++) {
        for (uint32_t b = a + 1; b < 16; b++) {
            uint32_t start[3] = {0, a, b}, end[3] = {a, b, 16};
            for (int o = 0; o < 6; o++) {
                cs_quic_cstream cs = {0};
                mrec r = {0};
                r.all = g_byte_array_new();
                for (int k = 0; k < 3; k++) {
                    int i = orders[o][k];
                    uint8_t *piece = g_memdup2(two_msgs + start[i], end[i] - start[i]);
                    CU_ASSERT_EQUAL(cs_quic_cstream_add(&cs, 1024, start[i], piece,
                                                        end[i] - start[i], on_msg, &r),
                                    0);
                    g_free(piece);
                }
                CU_ASSERT_EQUAL(r.n, 2);
                CU_ASSERT_EQUAL(r.lens[0], 10);
                CU_ASSERT_EQUAL(r.lens[1], 6);
                CU_ASSERT(r.all->len == 16 && memcmp(r.all->data, two_msgs, 16) == 0);
                CU_ASSERT_EQUAL(cs.base, 16);
                CU_ASSERT_PTR_NULL(cs.buf); /* nothing pending: buffer freed */
                g_byte_array_free(r.all, TRUE);
                cs_quic_cstream_clear(&cs);
            }
        }
    }
}

static void test_cstream_limits(void)
{
    mrec r = {0};
    r.all = g_byte_array_new();
    cs_quic_cstream cs = {0};
    /* a retransmission of delivered bytes is a duplicate, not a message */
    CU_ASSERT_EQUAL(cs_quic_cstream_add(&cs, 64, 0, two_msgs, 16, on_msg, &r), 0);
    CU_ASSERT_EQUAL(cs_quic_cstream_add(&cs, 64, 0, two_msgs, 16, on_msg, &r), 0);
    CU_ASSERT_EQUAL(r.n, 2);
    CU_ASSERT_EQUAL(cs.dup_bytes, 16);
    /* overlap with other bytes: first copy kept, conflict reported */
    uint8_t m[8] = {1, 0, 0, 4, 'a', 'b', 'c', 'd'}, other[2] = {'X', 'Y'};
    CU_ASSERT_EQUAL(cs_quic_cstream_add(&cs, 64, 16 + 6, other, 2, on_msg, &r), 0);
    CU_ASSERT_EQUAL(cs_quic_cstream_pending(&cs), 2);
    CU_ASSERT_EQUAL(cs_quic_cstream_add(&cs, 64, 16, m, 7, on_msg, &r), CS_QCS_CONFLICT);
    CU_ASSERT_EQUAL(r.n, 3);
    CU_ASSERT(memcmp(r.all->data + 16,
                     "\x01\x00\x00\x04"
                     "abXY",
                     8) == 0);
    CU_ASSERT_EQUAL(cs_quic_cstream_pending(&cs), 0);
    /* bytes beyond the cap are dropped and reported */
    CU_ASSERT_EQUAL(cs_quic_cstream_add(&cs, 64, 24 + 100, m, 8, on_msg, &r), CS_QCS_CAP);
    CU_ASSERT_EQUAL(cs_quic_cstream_add(&cs, 64, 24 + 60, m, 8, on_msg, &r), CS_QCS_CAP);
    CU_ASSERT_EQUAL(cs_quic_cstream_pending(&cs), 4);
    cs_quic_cstream_clear(&cs);
    /* a message announcing more than the cap kills the stream */
    cs_quic_cstream big = {0};
    uint8_t huge[4] = {11, 0x01, 0x00, 0x00};
    CU_ASSERT_EQUAL(cs_quic_cstream_add(&big, 64, 0, huge, 4, on_msg, &r), CS_QCS_TOO_LONG);
    CU_ASSERT(big.dead);
    CU_ASSERT_EQUAL(cs_quic_cstream_add(&big, 64, 4, m, 8, on_msg, &r), 0);
    /* too many separate ranges */
    cs_quic_cstream holes = {0};
    unsigned bits = 0;
    for (int i = 0; i < CS_QUIC_CRANGES + 2; i++)
        bits |= cs_quic_cstream_add(&holes, 4096, 10 + 4 * (uint64_t)i, m, 2, on_msg, &r);
    CU_ASSERT_EQUAL(bits, CS_QCS_CAP);
    CU_ASSERT_EQUAL(holes.nranges, CS_QUIC_CRANGES);
    cs_quic_cstream_clear(&holes);
    cs_quic_cstream_clear(&holes);
    g_byte_array_free(r.all, TRUE);
}

/* ---- a packet protector (tests/quic_protect.h), checked against RFC 9001 A.2 --------------- */

/* qp_protect_long with hex connection IDs. */
static uint32_t protect_long(uint32_t version, int type, const cs_quic_keys *k,
                             const char *dcid_hex, const char *scid_hex, uint64_t pn,
                             const uint8_t *frames, uint32_t flen, uint32_t pad, uint8_t *out)
{
    uint8_t dcid[20], scid[20];
    uint8_t dl = (uint8_t)unhex(dcid_hex, dcid, 20), sl = (uint8_t)unhex(scid_hex, scid, 20);
    uint32_t n = qp_protect_long(cs_quic_version_find(version), type, k, dcid, dl, scid, sl, pn,
                                 frames, flen, pad, out);
    CU_ASSERT(n > 0);
    return n;
}

static uint8_t rfc_frames[245];

static void test_protector(void)
{
    uint8_t pkt[1300], want[1200];
    cs_quic_keys c, s;
    initial_keys_for(CS_QUIC_V1, DCID_HEX, &c, &s);
    uint32_t n = protect_long(CS_QUIC_V1, CS_QPT_INITIAL, &c, DCID_HEX, "", 2, rfc_frames, 245,
                              1162 - 245, pkt);
    CU_ASSERT_EQUAL(n, 1200);
    unhex(V1_CLIENT_INITIAL, want, sizeof want);
    CU_ASSERT(memcmp(pkt, want, 1200) == 0);
}

/* ---- connection tracking ------------------------------------------------------------------- */

/* A stand-in for the UDP flow table: one consumer pointer per unordered 4-tuple. */
typedef struct tflow {
    uint32_t a, b;
    uint16_t pa, pb;
    void *app;
} tflow;

typedef struct trun {
    cs_quic_table *q;
    cs_counters counters;
    tflow flows[64];
    int nflows;
    GArray *ended; /* copies of ended connections */
    GArray *why;   /* their cs_quic_end */
    int news;
    int hello_types[2][4];
    uint32_t hello_lens[2][4];
    int hellos[2];
} trun;

static void h_new(void *ctx, cs_quic_conn *c)
{
    ((trun *)ctx)->news++;
}

static void h_hs(void *ctx, cs_quic_conn *c, int dir, int level, const uint8_t *msg, uint32_t len,
                 cs_time_t ts)
{
    trun *t = ctx;
    int i = t->hellos[dir]++;
    if (i < 4) {
        t->hello_types[dir][i] = msg[0];
        t->hello_lens[dir][i] = len;
    }
}

static void h_end(void *ctx, cs_quic_conn *c, cs_quic_end why)
{
    trun *t = ctx;
    g_array_append_vals(t->ended, c, 1);
    int w = why;
    g_array_append_val(t->why, w);
}

static cs_quic_hooks test_hooks = {NULL, h_new, h_hs, h_end};

static void trun_init(trun *t, uint32_t max_conns)
{
    memset(t, 0, sizeof *t);
    cs_quic_cfg cfg;
    cs_quic_cfg_default(&cfg);
    cfg.max_conns = max_conns;
    test_hooks.ctx = t;
    t->q = cs_quic_new(&cfg, &test_hooks, &t->counters);
    t->ended = g_array_new(FALSE, FALSE, sizeof(cs_quic_conn));
    t->why = g_array_new(FALSE, FALSE, sizeof(int));
}

static void trun_done(trun *t)
{
    cs_quic_free(t->q);
    g_array_free(t->ended, TRUE);
    g_array_free(t->why, TRUE);
}

static cs_quic_conn *ended(trun *t, uint32_t i)
{
    return i < t->ended->len ? &g_array_index(t->ended, cs_quic_conn, i) : NULL;
}

/* Sends a datagram from 10.0.0.<src>:sport to 10.0.0.<dst>:dport at second `sec`; the copy is
 * exactly `len` bytes long so that a read past it is caught by ASan. Returns the table's answer. */
static bool send_dgram(trun *t, int src, uint16_t sport, int dst, uint16_t dport, const uint8_t *p,
                       uint32_t len, uint32_t wire, int sec)
{
    cs_addr sa = {{10, 0, 0, (uint8_t)src}}, da = {{10, 0, 0, (uint8_t)dst}};
    tflow *f = NULL;
    for (int i = 0; i < t->nflows && f == NULL; i++) {
        tflow *g = &t->flows[i];
        if ((g->a == (uint32_t)src && g->pa == sport && g->b == (uint32_t)dst && g->pb == dport) ||
            (g->b == (uint32_t)src && g->pb == sport && g->a == (uint32_t)dst && g->pa == dport))
            f = g;
    }
    if (f == NULL) {
        f = &t->flows[t->nflows++];
        *f = (tflow){(uint32_t)src, (uint32_t)dst, sport, dport, NULL};
    }
    uint8_t *copy = g_memdup2(p, len);
    cs_quic_dgram d = {4,
                       &sa,
                       &da,
                       sport,
                       dport,
                       copy,
                       len,
                       wire != 0 ? wire : len,
                       (cs_time_t)sec * CS_NS_PER_S,
                       &f->app,
                       false};
    bool r = cs_quic_datagram(t->q, &d, NULL, NULL);
    g_free(copy);
    return r;
}

#define C 1 /* client 10.0.0.1 */
#define S 2 /* server 10.0.0.2 */

static uint32_t client_initial(uint32_t version, const char *dcid, const char *scid, uint64_t pn,
                               const uint8_t *frames, uint32_t flen, uint8_t *out)
{
    cs_quic_keys c, s;
    initial_keys_for(version, dcid, &c, &s);
    return protect_long(version, CS_QPT_INITIAL, &c, dcid, scid, pn, frames, flen,
                        flen < 1162 ? 1162 - flen : 0, out);
}

/* A server Initial (keys from the client's DCID `keyed`) carrying `frames`. */
static uint32_t server_initial(uint32_t version, const char *keyed, const char *dcid,
                               const char *scid, uint64_t pn, const uint8_t *frames, uint32_t flen,
                               uint8_t *out)
{
    cs_quic_keys c, s;
    initial_keys_for(version, keyed, &c, &s);
    return protect_long(version, CS_QPT_INITIAL, &s, dcid, scid, pn, frames, flen, 0, out);
}

static uint32_t handshake_pkt(const char *dcid, const char *scid, uint64_t pn, uint8_t *out)
{
    cs_quic_keys c, s;
    initial_keys_for(CS_QUIC_V1, DCID_HEX, &c, &s); /* any keys: Handshake packets stay closed */
    static const uint8_t ping[1] = {1};
    return protect_long(CS_QUIC_V1, CS_QPT_HANDSHAKE, &c, dcid, scid, pn, ping, 1, 30, out);
}

/* RFC 9001 A.2/A.3 as a capture: padding after the client Initial, Handshake packets both ways,
 * then seven short header packets from the client. */
static void test_conn_rfc_handshake(void)
{
    trun t;
    trun_init(&t, 100);
    uint8_t pkt[1300], srv[200], hs[100];
    uint32_t n = unhex(V1_CLIENT_INITIAL, pkt, sizeof pkt);
    memset(pkt + n, 0, 40); /* UDP padding after the packet */
    CU_ASSERT(send_dgram(&t, C, 50000, S, 443, pkt, n + 40, 0, 1));
    uint32_t sn = unhex(V1_SERVER_INITIAL, srv, sizeof srv);
    CU_ASSERT(send_dgram(&t, S, 443, C, 50000, srv, sn, 0, 2));
    uint32_t hn = handshake_pkt("", "f067a5502a4262b5", 0, hs);
    CU_ASSERT(send_dgram(&t, S, 443, C, 50000, hs, hn, 0, 3));
    hn = handshake_pkt("f067a5502a4262b5", "", 0, hs);
    CU_ASSERT(send_dgram(&t, C, 50000, S, 443, hs, hn, 0, 4));
    uint8_t sh[30] = {0x41, 0xf0, 0x67, 0xa5, 0x50, 0x2a, 0x42, 0x62, 0xb5};
    for (int i = 0; i < 7; i++)
        CU_ASSERT(send_dgram(&t, C, 50000, S, 443, sh, sizeof sh, 0, 5));
    /* not QUIC: a DNS-looking datagram on another flow */
    static const uint8_t dns[12] = {0x12, 0x34, 1, 0, 0, 1};
    CU_ASSERT_FALSE(send_dgram(&t, C, 5353, S, 53, dns, sizeof dns, 0, 5));
    cs_quic_flush(t.q);
    CU_ASSERT_EQUAL_FATAL(t.ended->len, 1);
    cs_quic_conn *c = ended(&t, 0);
    char hex[41];
    CU_ASSERT_EQUAL(c->number, 0);
    CU_ASSERT_STRING_EQUAL(c->history, "ISXishHOOO");
    CU_ASSERT_STRING_EQUAL(cs_quic_cid_hex(&c->odcid, hex), "8394c8f03e515708");
    CU_ASSERT(c->rep_scid_seen[0] && c->rep_scid[0].len == 0);
    CU_ASSERT_STRING_EQUAL(cs_quic_cid_hex(&c->rep_scid[1], hex), "f067a5502a4262b5");
    CU_ASSERT_EQUAL(cs_quic_conn_state(c), CS_QS_ESTABLISHED);
    CU_ASSERT_EQUAL(c->hs_ts, 3 * CS_NS_PER_S);
    CU_ASSERT_EQUAL(c->dgrams[0], 9);
    CU_ASSERT_EQUAL(c->dgrams[1], 2);
    CU_ASSERT_EQUAL(c->bytes[1], sn + hn);
    CU_ASSERT_EQUAL(c->shorts[0], 7);
    CU_ASSERT_EQUAL(c->decrypted, 2);
    CU_ASSERT_EQUAL(c->discarded, 1);
    CU_ASSERT_EQUAL(t.hellos[0], 1);
    CU_ASSERT_EQUAL(t.hello_types[0][0], 1);
    CU_ASSERT_EQUAL(t.hello_lens[0][0], 241); /* 0x0000ed + 4 */
    CU_ASSERT_EQUAL(t.hellos[1], 1);
    CU_ASSERT_EQUAL(t.hello_types[1][0], 2);
    CU_ASSERT_EQUAL(t.hello_lens[1][0], 90); /* 0x000056 + 4 */
    CU_ASSERT_EQUAL(g_array_index(t.why, int, 0), CS_QEND_EOF);
    for (int a = 0; a < CS_ANOM_COUNT; a++)
        CU_ASSERT_EQUAL(t.counters.anomalies[a], 0);
    trun_done(&t);
}

/* A Retry: the client's next Initial goes to the server's new ID under new keys; one connection,
 * the ClientHello seen again; a Retry with a wrong tag is counted. */
static void test_conn_retry(void)
{
    trun t;
    trun_init(&t, 100);
    uint8_t pkt[1300], retry[64];
    uint32_t n = unhex(V1_CLIENT_INITIAL, pkt, sizeof pkt);
    CU_ASSERT(send_dgram(&t, C, 50000, S, 443, pkt, n, 0, 1));
    uint32_t rn = unhex(V1_RETRY, retry, sizeof retry);
    CU_ASSERT(send_dgram(&t, S, 443, C, 50000, retry, rn, 0, 2));
    n = client_initial(CS_QUIC_V1, "f067a5502a4262b5", "", 3, rfc_frames, 245, pkt);
    CU_ASSERT(send_dgram(&t, C, 50000, S, 443, pkt, n, 0, 3));
    uint8_t payload[99];
    uint32_t pl = unhex(V1_SERVER_PAYLOAD, payload, sizeof payload);
    n = server_initial(CS_QUIC_V1, "f067a5502a4262b5", "", "aabbccdd", 0, payload, pl, pkt);
    CU_ASSERT(send_dgram(&t, S, 443, C, 50000, pkt, n, 0, 4));
    CU_ASSERT_EQUAL(t.counters.anomalies[CS_ANOM_QUIC_RETRY_BAD_TAG], 0);
    CU_ASSERT_EQUAL(t.counters.anomalies[CS_ANOM_QUIC_DECRYPT_FAILED], 0);
    /* the same Retry again: too late, ignored; its tag is still right for the first DCID */
    CU_ASSERT(send_dgram(&t, S, 443, C, 50000, retry, rn, 0, 5));
    CU_ASSERT_EQUAL(t.counters.anomalies[CS_ANOM_QUIC_RETRY_BAD_TAG], 0);
    retry[rn - 1] ^= 1;
    CU_ASSERT(send_dgram(&t, S, 443, C, 50000, retry, rn, 0, 5));
    CU_ASSERT_EQUAL(t.counters.anomalies[CS_ANOM_QUIC_RETRY_BAD_TAG], 1);
    cs_quic_flush(t.q);
    CU_ASSERT_EQUAL_FATAL(t.ended->len, 1);
    cs_quic_conn *c = ended(&t, 0);
    char hex[41];
    CU_ASSERT_STRING_EQUAL(c->history, "ISrISisrr");
    CU_ASSERT_STRING_EQUAL(cs_quic_cid_hex(&c->odcid, hex), "8394c8f03e515708");
    CU_ASSERT_STRING_EQUAL(cs_quic_cid_hex(&c->key_dcid, hex), "f067a5502a4262b5");
    CU_ASSERT_EQUAL(c->retries, 3);
    CU_ASSERT(c->retry_taken && c->retry_ignored);
    CU_ASSERT_EQUAL(t.hellos[0], 2);
    CU_ASSERT_EQUAL(cs_quic_conn_state(c), CS_QS_INCOMPLETE);
    trun_done(&t);
}

/* A ClientHello in two CRYPTO frames in two Initials sent in reverse order; then a second
 * connection (another DCID) on the same 4-tuple gets the next number. */
static void test_conn_multiple_initials(void)
{
    trun t;
    trun_init(&t, 100);
    const uint8_t *hello = rfc_frames + 4; /* 241 bytes after the CRYPTO frame header 060040f1 */
    uint8_t f1[128], f2[256], pkt[1300];
    uint32_t l1 = 0, l2 = 0;
    f1[l1++] = 0x06, f1[l1++] = 0x00, f1[l1++] = 0x40, f1[l1++] = 100;
    memcpy(f1 + l1, hello, 100), l1 += 100;
    f2[l2++] = 0x06, f2[l2++] = 0x40, f2[l2++] = 100, f2[l2++] = 0x40, f2[l2++] = 141;
    memcpy(f2 + l2, hello + 100, 141), l2 += 141;
    uint32_t n = client_initial(CS_QUIC_V1, DCID_HEX, "c1c2", 1, f2, l2, pkt);
    CU_ASSERT(send_dgram(&t, C, 50000, S, 443, pkt, n, 0, 1));
    CU_ASSERT_EQUAL(t.hellos[0], 0);
    n = client_initial(CS_QUIC_V1, DCID_HEX, "c1c2", 0, f1, l1, pkt);
    CU_ASSERT(send_dgram(&t, C, 50000, S, 443, pkt, n, 0, 2));
    CU_ASSERT_EQUAL(t.hellos[0], 1);
    CU_ASSERT_EQUAL(t.hello_lens[0][0], 241);
    n = client_initial(CS_QUIC_V1, "0102030405060708", "c3c4", 0, rfc_frames, 245, pkt);
    CU_ASSERT(send_dgram(&t, C, 50000, S, 443, pkt, n, 0, 3));
    CU_ASSERT_EQUAL(t.news, 2);
    CU_ASSERT_EQUAL(cs_quic_active(t.q), 2);
    CU_ASSERT_EQUAL(((cs_quic_conn *)t.flows[0].app)->number, 1); /* the 4-tuple's newest */
    cs_quic_flush(t.q);
    CU_ASSERT_EQUAL_FATAL(t.ended->len, 2);
    CU_ASSERT_STRING_EQUAL(ended(&t, 0)->history, "IIS");
    CU_ASSERT_EQUAL(ended(&t, 0)->number, 0);
    CU_ASSERT_STRING_EQUAL(ended(&t, 1)->history, "IS");
    CU_ASSERT_EQUAL(cs_quic_conn_state(ended(&t, 0)), CS_QS_NO_ANSWER);
    CU_ASSERT_PTR_NULL(t.flows[0].app); /* the flow's pointer is cleared with its connection */
    trun_done(&t);
}

/* NAT rebinding: the client moves to another port; its packets and the server's answers to the
 * new port are still the same connection, found by connection ID. */
static void test_conn_migration(void)
{
    trun t;
    trun_init(&t, 100);
    uint8_t pkt[1300], payload[99];
    uint32_t n = client_initial(CS_QUIC_V1, DCID_HEX, "c1c2c3c4", 0, rfc_frames, 245, pkt);
    CU_ASSERT(send_dgram(&t, C, 50000, S, 443, pkt, n, 0, 1));
    uint32_t pl = unhex(V1_SERVER_PAYLOAD, payload, sizeof payload);
    n = server_initial(CS_QUIC_V1, DCID_HEX, "c1c2c3c4", "5e5e5e5e5e5e", 0, payload, pl, pkt);
    CU_ASSERT(send_dgram(&t, S, 443, C, 50000, pkt, n, 0, 2));
    uint8_t to_server[24] = {0x40, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 9, 9};
    uint8_t to_client[24] = {0x40, 0xc1, 0xc2, 0xc3, 0xc4, 7, 7};
    CU_ASSERT(send_dgram(&t, C, 61000, S, 443, to_server, sizeof to_server, 0, 3));
    CU_ASSERT(send_dgram(&t, S, 443, C, 61000, to_client, sizeof to_client, 0, 3));
    CU_ASSERT(send_dgram(&t, C, 61000, S, 443, to_server, sizeof to_server, 0, 4));
    /* unknown IDs on a new flow: not QUIC */
    to_server[1] ^= 0xff;
    CU_ASSERT_FALSE(send_dgram(&t, C, 62000, S, 443, to_server, sizeof to_server, 0, 4));
    cs_quic_flush(t.q);
    CU_ASSERT_EQUAL_FATAL(t.ended->len, 1);
    cs_quic_conn *c = ended(&t, 0);
    CU_ASSERT_EQUAL(c->shorts[0], 2);
    CU_ASSERT_EQUAL(c->shorts[1], 1);
    CU_ASSERT_EQUAL(c->dgrams[0], 3);
    CU_ASSERT_EQUAL(c->port[0], 50000); /* the first port stays the connection's */
    CU_ASSERT_STRING_EQUAL(c->history, "ISisOoO");
    trun_done(&t);
}

/* Forged Initials with random DCIDs: the cap holds, each eviction is counted, numbers go on. */
static void test_conn_flood(void)
{
    trun t;
    trun_init(&t, 4);
    uint8_t pkt[1300];
    for (int i = 0; i < 10; i++) {
        char dcid[17];
        snprintf(dcid, sizeof dcid, "%016x", 0x1000 + i);
        uint32_t n = client_initial(CS_QUIC_V1, dcid, "", 0, rfc_frames, 245, pkt);
        CU_ASSERT(send_dgram(&t, C, (uint16_t)(40000 + i), S, 443, pkt, n, 0, 1));
    }
    CU_ASSERT_EQUAL(cs_quic_active(t.q), 4);
    CU_ASSERT_EQUAL(cs_quic_peak(t.q), 4);
    CU_ASSERT_EQUAL(t.counters.anomalies[CS_ANOM_QUIC_CONN_EVICT], 6);
    CU_ASSERT_EQUAL(t.ended->len, 6);
    CU_ASSERT_EQUAL(g_array_index(t.why, int, 0), CS_QEND_EVICTED);
    CU_ASSERT_EQUAL(ended(&t, 0)->number, 0);
    CU_ASSERT_EQUAL(cs_quic_get_stats(t.q)->conns, 10);
    /* idle expiry ends the rest */
    cs_quic_expire(t.q, 100 * CS_NS_PER_S);
    CU_ASSERT_EQUAL(cs_quic_active(t.q), 0);
    CU_ASSERT_EQUAL(ended(&t, 9)->number, 9);
    CU_ASSERT_EQUAL(g_array_index(t.why, int, 9), CS_QEND_IDLE);
    trun_done(&t);
}

/* Version Negotiation, a CONNECTION_CLOSE in a server Initial, a cut datagram, an orphan. */
static void test_conn_vn_close(void)
{
    trun t;
    trun_init(&t, 100);
    uint8_t pkt[1300];
    uint32_t n = client_initial(0xff00001d, DCID_HEX, "c1c2c3c4", 0, rfc_frames, 245, pkt);
    CU_ASSERT(send_dgram(&t, C, 50000, S, 443, pkt, n, 0, 1));
    uint8_t vn[] = {0x80, 0,    0,    0,    0,    4,    0xc1, 0xc2, 0xc3, 0xc4, 8, 0x83,
                    0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08, 0,    0,    0,    1};
    CU_ASSERT(send_dgram(&t, S, 443, C, 50000, vn, sizeof vn, 0, 2));
    /* second connection: the server closes it in its Initial (PROTOCOL_VIOLATION) */
    n = client_initial(CS_QUIC_V1, "0102030405060708", "", 0, rfc_frames, 245, pkt);
    CU_ASSERT(send_dgram(&t, C, 50001, S, 443, pkt, n, 0, 3));
    static const uint8_t cc[] = {0x1c, 0x0a, 0x00, 0x00};
    n = server_initial(CS_QUIC_V1, "0102030405060708", "", "abcd", 0, cc, sizeof cc, pkt);
    CU_ASSERT(send_dgram(&t, S, 443, C, 50001, pkt, n, 0, 4));
    /* third: the client Initial cut by a 100-byte snaplen still starts a connection */
    n = client_initial(CS_QUIC_V1, "1112131415161718", "", 0, rfc_frames, 245, pkt);
    CU_ASSERT(send_dgram(&t, C, 50002, S, 443, pkt, 100, n, 5));
    CU_ASSERT_EQUAL(t.counters.anomalies[CS_ANOM_QUIC_TRUNCATED], 1);
    /* a Handshake packet nobody started: QUIC, but no connection */
    uint8_t hs[100];
    n = handshake_pkt("9999999999999999", "", 0, hs);
    CU_ASSERT(send_dgram(&t, S, 443, C, 50003, hs, n, 0, 6));
    CU_ASSERT_EQUAL(cs_quic_get_stats(t.q)->orphans, 1);
    cs_quic_flush(t.q);
    CU_ASSERT_EQUAL_FATAL(t.ended->len, 3);
    CU_ASSERT_STRING_EQUAL(ended(&t, 0)->history, "ISu");
    CU_ASSERT_EQUAL(ended(&t, 0)->version, 0xff00001d);
    CU_ASSERT_EQUAL(cs_quic_conn_state(ended(&t, 0)), CS_QS_VN);
    CU_ASSERT_STRING_EQUAL(ended(&t, 1)->history, "ISic");
    CU_ASSERT_EQUAL(cs_quic_conn_state(ended(&t, 1)), CS_QS_CLOSED);
    CU_ASSERT_EQUAL(ended(&t, 1)->close_error, 10);
    CU_ASSERT_EQUAL(ended(&t, 1)->close_dir, 1);
    CU_ASSERT_STRING_EQUAL(ended(&t, 2)->history, "I");
    CU_ASSERT_EQUAL(ended(&t, 2)->decrypted, 0);
    trun_done(&t);
}

/* ---- app_quic.c and stats_quic.c: the rows a run reports, the per-server aggregates ---------- */

typedef struct arows {
    GArray *rows; /* cs_quic_row */
    char history[4][CS_QUIC_HISTORY_MAX + 1];
} arows;

static void on_row(void *ctx, const cs_quic_row *row)
{
    arows *a = ctx;
    if (a->rows->len < 4)
        g_strlcpy(a->history[a->rows->len], row->history, sizeof a->history[0]);
    g_array_append_val(a->rows, *row);
}

static void test_app_quic_rows(void)
{
    arows a = {.rows = g_array_new(FALSE, FALSE, sizeof(cs_quic_row))};
    cs_app_quic_sink sink = {&a, on_row};
    cs_app_quic_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cs_counters ctr;
    memset(&ctr, 0, sizeof ctr);
    cs_app_quic *aq = cs_app_quic_new(&cfg, &sink, &ctr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(aq);
    cs_udp_flow f;
    memset(&f, 0, sizeof f);
    f.family = 4;
    f.addr[0] = (cs_addr){{10, 0, 0, C}};
    f.addr[1] = (cs_addr){{10, 0, 0, S}};
    f.port[0] = 50000;
    f.port[1] = 443;
    f.stream = 7;
    uint8_t pkt[1300], srv[200], hs[100];
    uint32_t n = unhex(V1_CLIENT_INITIAL, pkt, sizeof pkt);
    cs_app_quic_datagram(aq, &f, 0, pkt, n, n, 1 * CS_NS_PER_S, 11);
    uint32_t sn = unhex(V1_SERVER_INITIAL, srv, sizeof srv);
    cs_app_quic_datagram(aq, &f, 1, srv, sn, sn, 2 * CS_NS_PER_S, 12);
    uint32_t hn = handshake_pkt("", "f067a5502a4262b5", 0, hs);
    cs_app_quic_datagram(aq, &f, 1, hs, hn, hn, 4 * CS_NS_PER_S, 13);
    hn = handshake_pkt("f067a5502a4262b5", "", 0, hs);
    cs_app_quic_datagram(aq, &f, 0, hs, hn, hn, 5 * CS_NS_PER_S, 14);
    /* not QUIC on another flow: no record */
    cs_udp_flow g = f;
    g.port[1] = 53;
    g.app = NULL;
    static const uint8_t dns[12] = {0x12, 0x34, 1, 0, 0, 1};
    cs_app_quic_datagram(aq, &g, 0, dns, sizeof dns, sizeof dns, 5 * CS_NS_PER_S, 15);
    cs_app_quic_flow_end(aq, &f);
    CU_ASSERT_PTR_NULL(f.app);
    cs_app_quic_flush(aq);
    CU_ASSERT_EQUAL_FATAL(a.rows->len, 1);
    const cs_quic_row *r = &g_array_index(a.rows, cs_quic_row, 0);
    CU_ASSERT_EQUAL(r->number, 0);
    CU_ASSERT_EQUAL(r->udp_stream, 7);
    CU_ASSERT_EQUAL(r->first_frame, 11);
    CU_ASSERT_STRING_EQUAL(r->version, "1");
    CU_ASSERT_STRING_EQUAL(r->client_initial_dcid, "8394c8f03e515708");
    CU_ASSERT_STRING_EQUAL(r->client_scid, "");
    CU_ASSERT_STRING_EQUAL(r->server_scid, "f067a5502a4262b5");
    CU_ASSERT(r->server_scid_seen);
    /* RFC 9001 A.2's ClientHello names example.com; A.3's ServerHello picks TLS 1.3 and
     * TLS_AES_128_GCM_SHA256 */
    CU_ASSERT(r->have_client_hello && r->have_server_hello);
    CU_ASSERT_STRING_EQUAL(r->server_name, "example.com");
    CU_ASSERT_EQUAL(r->tls_version, 0x0304);
    CU_ASSERT_EQUAL(r->cipher, 0x1301);
    CU_ASSERT_EQUAL(strncmp(r->ja4, "q13d", 4), 0); /* QUIC, TLS 1.3, an SNI */
    CU_ASSERT_EQUAL(strlen(r->ja3), 32);
    CU_ASSERT_EQUAL(strlen(r->ja3s), 32);
    CU_ASSERT_EQUAL(r->handshake, 3 * CS_NS_PER_S); /* client Initial 1 s, server Handshake 4 s */
    CU_ASSERT_EQUAL(r->state, CS_QS_ESTABLISHED);
    CU_ASSERT_STRING_EQUAL(r->end_reason, "eof");
    CU_ASSERT_EQUAL(r->dgrams[0], 2);
    CU_ASSERT_EQUAL(r->dgrams[1], 2);
    CU_ASSERT_EQUAL(r->bytes[1], sn + hn);
    CU_ASSERT_EQUAL(r->start, 1 * CS_NS_PER_S);
    CU_ASSERT_EQUAL(r->end, 5 * CS_NS_PER_S);
    CU_ASSERT_STRING_EQUAL(a.history[0], "ISishH");

    /* aggregates: the row, then a row for another server past a cap of 1 ('(other)') */
    cs_quic_agg s1, s2;
    cs_quic_agg_init(&s1, 1);
    cs_quic_agg_init(&s2, 0);
    cs_quic_row r2 = *r;
    r2.addr[1].b[3] = 9;
    r2.state = CS_QS_NO_ANSWER;
    r2.handshake = -1;
    g_strlcpy(r2.server_name, "b.example", sizeof r2.server_name);
    cs_quic_agg_add(&s1, r);
    cs_quic_agg_add(&s1, &r2);
    CU_ASSERT_EQUAL(s1.conns, 2);
    CU_ASSERT_EQUAL(s1.keys_capped, 1);
    CU_ASSERT_EQUAL(s1.by_state[CS_QS_ESTABLISHED], 1);
    CU_ASSERT_EQUAL(s1.by_state[CS_QS_NO_ANSWER], 1);
    cs_quic_agg_merge(&s2, &s1);
    cs_quic_agg_merge(&s2, &s1);
    GPtrArray *rows = cs_quic_agg_sorted(&s2);
    CU_ASSERT_EQUAL_FATAL(rows->len, 2);
    const cs_quic_server *other = g_ptr_array_index(rows, 0), *sv = g_ptr_array_index(rows, 1);
    CU_ASSERT_EQUAL(other->family, 0);
    CU_ASSERT_EQUAL(other->conns, 2);
    CU_ASSERT_EQUAL(other->initials_unanswered, 2 * r2.initials[0]);
    CU_ASSERT_EQUAL(sv->port, 443);
    CU_ASSERT_EQUAL(sv->conns, 2);
    CU_ASSERT_EQUAL(sv->handshake_us.n, 2);
    CU_ASSERT_EQUAL(sv->handshake_us.max, 3000000);
    unsigned others;
    CU_ASSERT_STRING_EQUAL(cs_quic_names_top(&sv->sni, &others), "example.com");
    CU_ASSERT_EQUAL(others, 0);
    CU_ASSERT_STRING_EQUAL(cs_quic_names_top(&other->sni, &others), "b.example");
    CU_ASSERT_EQUAL(s2.conns, 4);
    CU_ASSERT_EQUAL(s2.keys_capped, 2);
    g_ptr_array_free(rows, TRUE);
    cs_quic_agg_free(&s1);
    cs_quic_agg_free(&s2);
    cs_app_quic_free(aq);
    g_array_free(a.rows, TRUE);
}

void suite_quic(void)
{
    static const cs_test_case cases[] = {
        {"RFC 9000 A.1 variable-length integers", test_varint},
        {"RFC 9000 A.3 packet number decoding", test_pn_decode},
        {"RFC 9001 A.1 Initial keys", test_keys_v1},
        {"RFC 9369 A.1 Initial keys (v2)", test_keys_v2},
        {"RFC 9001 A.2 client Initial", test_client_initial_v1},
        {"RFC 9369 A.2 client Initial (v2)", test_client_initial_v2},
        {"RFC 9001 A.3 server Initial", test_server_initial_v1},
        {"RFC 9369 A.3 server Initial (v2)", test_server_initial_v2},
        {"RFC 9001 A.4 Retry integrity", test_retry_v1},
        {"RFC 9369 A.4 Retry integrity (v2)", test_retry_v2},
        {"RFC 9001 A.5 ChaCha20 short header", test_chacha_v1},
        {"RFC 9369 A.5 ChaCha20 short header (v2)", test_chacha_v2},
        {"version names as Zeek's quic.log", test_version_names},
        {"long header errors and prefixes", test_header_errors},
        {"frames: lengths, levels, bad input", test_frames},
        {"CRYPTO reassembly in every order", test_cstream_orders},
        {"CRYPTO reassembly: duplicates, conflicts, caps", test_cstream_limits},
        {"the test's packet protector equals RFC 9001 A.2", test_protector},
        {"connection: RFC handshake, padding, short headers", test_conn_rfc_handshake},
        {"connection: Retry", test_conn_retry},
        {"connection: multiple Initials, two connections on a 4-tuple",
         test_conn_multiple_initials},
        {"connection: NAT rebinding", test_conn_migration},
        {"connection: Initial flood against the cap", test_conn_flood},
        {"connection: Version Negotiation, CONNECTION_CLOSE, snaplen", test_conn_vn_close},
        {"app_quic: a run's row from RFC 9001's Initials; per-server aggregates",
         test_app_quic_rows},
        {NULL, NULL},
    };
    qc = cs_quic_crypto_new();
    unhex(V1_CLIENT_FRAMES, rfc_frames, sizeof rfc_frames);
    cs_add_suite("quic", cases);
}
