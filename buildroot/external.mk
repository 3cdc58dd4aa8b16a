include $(sort $(wildcard $(BR2_EXTERNAL_PINVR_PATH)/package/*/*.mk))
