/* Tensors and dtype conversion (runtime/tensor.c): error paths of cascade_convert. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cascade/tensor.h"

/* Floats that no int32 holds (NaN, +-inf, 3e9, -2^31 - 1) are a FORMAT error naming the
 * element, not an undefined conversion (issue 14: ids from huge inputs); the extremes that do
 * fit convert exactly, truncating toward zero as C does. */
static void test_tensor_convert_float_to_int_range(void **state) {
    (void)state;
    const float bad[] = {NAN, INFINITY, -INFINITY, 3e9f, -2147483904.0f};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        const float   src[3] = {1.0f, 2.0f, bad[k]};
        int32_t       dst[3];
        cascade_error err;
        cascade_error_init(&err);
        assert_int_equal(cascade_convert(CASCADE_DTYPE_F32, src, CASCADE_DTYPE_I32, dst, 3, &err),
                         CASCADE_STATUS_FORMAT);
        assert_non_null(strstr(err.message, "element 2"));
        assert_non_null(strstr(err.message, "I32"));
    }
    const double  ok[] = {2147483647.9, -2147483648.5, -0.9, 7.99};
    int32_t       got[4];
    cascade_error err;
    cascade_error_init(&err);
    assert_int_equal(cascade_convert(CASCADE_DTYPE_F64, ok, CASCADE_DTYPE_I32, got, 4, &err),
                     CASCADE_STATUS_OK);
    assert_int_equal(got[0], INT32_MAX);
    assert_int_equal(got[1], INT32_MIN);
    assert_int_equal(got[2], 0);
    assert_int_equal(got[3], 7);
    /* the narrower and wider integer targets are checked the same way */
    const float big[1] = {300.0f}, huge[1] = {1e19f};
    uint8_t     u8;
    int64_t     i64;
    assert_int_equal(cascade_convert(CASCADE_DTYPE_F32, big, CASCADE_DTYPE_U8, &u8, 1, NULL),
                     CASCADE_STATUS_FORMAT);
    assert_int_equal(cascade_convert(CASCADE_DTYPE_F32, huge, CASCADE_DTYPE_I64, &i64, 1, NULL),
                     CASCADE_STATUS_FORMAT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_convert_float_to_int_range),
    };
    return cmocka_run_group_tests_name("tensor", tests, NULL, NULL);
}
