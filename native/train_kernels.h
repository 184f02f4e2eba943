// The training kernels' exports (train_kernels.cc), added to the module by colorgan_dnnl.cc.
#pragma once

#include <node_api.h>

namespace colorgan {

napi_value BnTrain(napi_env env, napi_callback_info info);
napi_value BnTrainGrad(napi_env env, napi_callback_info info);
napi_value LeakyRelu(napi_env env, napi_callback_info info);
napi_value Adam(napi_env env, napi_callback_info info);
napi_value ChannelSum(napi_env env, napi_callback_info info);

}  // namespace colorgan
